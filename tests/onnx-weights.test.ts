import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exportOnnx } from '../trainer/export/onnx-export.ts';
import { readOnnxWeights } from '../trainer/export/onnx-weights.ts';
import { ParamLayout } from '../trainer/fit/param-layout.ts';
import { buildModel, type ModelSpec } from '../trainer/models/build-model.ts';

test('an exported model reads back to the same spec and the same weights, bit for bit', () => {
  for (const spec of [
    { kind: 'unet', options: { task: 'upscale', scale: 2, widths: [8, 16, 32], crossConnections: true } },
    { kind: 'unet', options: { task: 'colorize', scale: 1, widths: [8, 16] } },
    { kind: 'unet', options: { task: 'upscale', scale: 4, widths: [8, 16, 32], headBlocks: 2 } },
  ] as ModelSpec[]) {
    const def = buildModel(spec);
    const layout = new ParamLayout(def.params);
    // Distinct values everywhere, so a wrong transpose or a swapped name cannot pass.
    const vector = layout.initialWeights(7);
    for (let i = 0; i < vector.length; i++) vector[i] += i * 1e-6;
    const weights = layout.toMap(vector);
    const back = readOnnxWeights(exportOnnx(def, weights));
    assert.deepEqual(back.spec, spec);
    assert.equal(back.weights.size, weights.size);
    for (const [name, values] of weights) assert.deepEqual(back.weights.get(name), values, name);
  }
});

test('every shipped model can be read back as a fine-tuning starting point', async () => {
  const manifest = JSON.parse(await readFile(new URL('../resources/models/manifest.json', import.meta.url), 'utf8')) as { models: { file: string }[] };
  for (const m of manifest.models) {
    const { spec, weights } = readOnnxWeights(await readFile(new URL(`../resources/models/${m.file}`, import.meta.url)));
    assert.equal(weights.size, buildModel(spec).params.length, m.file);
  }
});

test('bytes that are not an Enhance model are refused with a reason', () => {
  assert.throws(() => readOnnxWeights(new Uint8Array(0)), /not an Enhance model/);
  assert.throws(() => readOnnxWeights(Uint8Array.from([0x0a, 0x05, 1])), /truncated protobuf/);
});
