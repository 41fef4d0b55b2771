import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as ort from 'onnxruntime-node';
import { createClassifier } from '../trainer/models/classifier.ts';
import type { ModelDef } from '../trainer/models/model.ts';
import type { Activation } from '../trainer/models/ops.ts';
import { TfModel } from '../trainer/models/tf-model.ts';
import { createUNet, type UNetOptions } from '../trainer/models/unet.ts';
import { Rng } from '../trainer/rng.ts';
import { exportOnnx, inputName, outputName } from '../trainer/export/onnx-export.ts';
import type { ModelManifest } from '../common/model-manifest.ts';

const widths = [8, 16, 32];
const tolerance = 1e-4;

before(async () => {
  await tf.setBackend('cpu');
});

/** Reads ModelProto.metadata_props (field 14, StringStringEntryProto {key = 1, value = 2}) back from the file. */
function readMetadata(bytes: Uint8Array): Record<string, string> {
  const fields = (from: number, to: number): { field: number; start: number; end: number }[] => {
    const out: { field: number; start: number; end: number }[] = [];
    let at = from;
    const varint = (): number => {
      let v = 0;
      for (let shift = 1; ; shift *= 128) {
        const b = bytes[at++];
        v += (b & 0x7f) * shift;
        if (b < 0x80) return v;
      }
    };
    while (at < to) {
      const tag = varint();
      const wire = tag & 7;
      if (wire === 0) varint();
      else if (wire === 5) at += 4;
      else if (wire === 2) {
        const len = varint();
        out.push({ field: tag >>> 3, start: at, end: at + len });
        at += len;
      } else throw new Error(`unexpected wire type ${wire}`);
    }
    return out;
  };
  const text = new TextDecoder();
  const meta: Record<string, string> = {};
  for (const entry of fields(0, bytes.length).filter((f) => f.field === 14)) {
    const kv = fields(entry.start, entry.end);
    const get = (n: number) => kv.find((f) => f.field === n)!;
    meta[text.decode(bytes.subarray(get(1).start, get(1).end))] = text.decode(bytes.subarray(get(2).start, get(2).end));
  }
  return meta;
}

/**
 * Seeded init leaves biases and the head's kernels at zero (an untrained model returns its input);
 * random values everywhere make the export prove it wires every parameter.
 */
function randomizeZeroParams(model: TfModel, rng: Rng): void {
  const values = new Map<string, Float32Array>();
  for (const [name, v] of model.params) {
    const data = v.dataSync() as Float32Array;
    values.set(name, data.every((x) => x === 0) ? Float32Array.from({ length: v.size }, () => rng.normal() * 0.1) : data);
  }
  model.writeWeights(values);
}

function randomNchw(rng: Rng, shape: number[]): Float32Array {
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.next());
}

/** Runs TF.js (NHWC) and ONNX Runtime (NCHW) on the same inputs and returns the largest difference. */
async function compare(def: ModelDef, seed: number, sizes: [number, number, number][]): Promise<{ bytes: Uint8Array; maxDiff: number }> {
  const model = new TfModel(def, seed);
  const rng = new Rng(seed + 1);
  try {
    randomizeZeroParams(model, rng);
    // Counted after construction: TfModel's own bookkeeping is not what this test is about.
    const tensorsBefore = tf.memory().numTensors;
    const bytes = exportOnnx(def, await model.readWeights(), { trainingData: 'none (test)' });
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'] });
    try {
      assert.deepEqual(session.inputNames, [inputName]);
      assert.deepEqual(session.outputNames, [outputName]);
      const inCh = def.descriptor?.inChannels ?? 3;
      let maxDiff = 0;
      for (const [n, h, w] of sizes) {
        const shape = [n, inCh, h, w];
        const data = randomNchw(rng, shape);
        const expected = tf.tidy(() => {
          const y = model.predict(tf.transpose(tf.tensor(data, shape), [0, 2, 3, 1]));
          return y.rank === 4 ? tf.transpose(y, [0, 3, 1, 2]) : y;
        });
        const result = await session.run({ [inputName]: new ort.Tensor('float32', data, shape) });
        const actual = result[outputName];
        try {
          assert.deepEqual(actual.dims, expected.shape);
          const e = expected.dataSync();
          const a = actual.data as Float32Array;
          for (let i = 0; i < e.length; i++) maxDiff = Math.max(maxDiff, Math.abs(e[i] - a[i]));
        } finally {
          expected.dispose();
          actual.dispose();
        }
      }
      assert.equal(tf.memory().numTensors, tensorsBefore, 'export or comparison leaked TF.js tensors');
      return { bytes, maxDiff };
    } finally {
      await session.release();
    }
  } finally {
    model.dispose();
  }
}

const unetVariants: UNetOptions[] = [];
const tasks: Pick<UNetOptions, 'task' | 'scale' | 'resolution'>[] = [
  { task: 'upscale', scale: 2, resolution: 'low-res' },
  { task: 'upscale', scale: 2, resolution: 'pre-upsampled' },
  { task: 'upscale', scale: 4, resolution: 'low-res' },
  { task: 'upscale', scale: 4, resolution: 'pre-upsampled' },
  { task: 'decrappify', scale: 1 },
  { task: 'colorize', scale: 1 },
];
for (const t of tasks)
  for (const skip of ['add', 'concat'] as const)
    for (const crossConnections of [false, true])
      for (const act of ['relu', 'leaky-relu'] as Activation[]) unetVariants.push({ ...t, widths, skip, crossConnections, act });
// Head blocks (the grown ×4): with added and with concatenated skips.
unetVariants.push({ task: 'upscale', scale: 4, resolution: 'low-res', widths, headBlocks: 2 });
unetVariants.push({ task: 'decrappify', scale: 1, widths, skip: 'concat', headBlocks: 1 });

unetVariants.forEach((o, i) => {
  const name = `${o.task} ×${o.scale} ${o.resolution ?? ''} skip=${o.skip} cross=${o.crossConnections} ${o.act}${o.headBlocks ? ` head blocks ${o.headBlocks}` : ''}`;
  test(`ONNX export matches TF.js: ${name}`, async (t) => {
    const def = createUNet(o);
    // Sides are multiples of sizeMultiplePx (the engine pads); two shapes check N, H, W are dynamic.
    const { bytes, maxDiff } = await compare(def, 100 + i, [[2, 40, 56], [1, 24, 8]]);
    t.diagnostic(`max abs diff ${maxDiff.toExponential(2)}`);
    assert.ok(maxDiff <= tolerance, `max abs diff ${maxDiff}`);

    const d = def.descriptor!;
    const meta = readMetadata(bytes);
    assert.equal(meta.task, d.task);
    assert.equal(meta.scale, String(d.scale));
    assert.equal(meta.inChannels, String(d.inChannels));
    assert.equal(meta.outChannels, String(d.outChannels));
    assert.equal(meta.sizeMultiplePx, String(d.sizeMultiplePx));
    assert.equal(meta.receptiveMarginPx, String(d.receptiveMarginPx));
    assert.equal(meta.resolution, d.resolution);
    assert.equal(meta.architecture, d.architecture);
    assert.equal(meta.inputNormalisation, o.task === 'colorize' ? 'luminance 0..1 NCHW' : 'rgb 0..1 NCHW');
    assert.deepEqual(JSON.parse(meta.options), o);
    assert.equal(meta.trainingData, 'none (test)');
  });
});

for (const act of ['relu', 'leaky-relu'] as Activation[]) {
  test(`ONNX export matches TF.js: classifier ${act}`, async (t) => {
    const def = createClassifier({ widths, act, classes: 5 });
    const { bytes, maxDiff } = await compare(def, 7, [[2, 40, 56], [1, 16, 24]]);
    t.diagnostic(`max abs diff ${maxDiff.toExponential(2)}`);
    assert.ok(maxDiff <= tolerance, `max abs diff ${maxDiff}`);
    const meta = readMetadata(bytes);
    assert.equal(meta.kind, 'classifier');
    assert.equal(meta.classes, '5');
  });
}

test('input and output dimensions are symbolic where the image size varies', async () => {
  const def = createUNet({ task: 'upscale', scale: 2, widths });
  const model = new TfModel(def, 1);
  try {
    const session = await ort.InferenceSession.create(exportOnnx(def, await model.readWeights()));
    try {
      const shapes = [...session.inputMetadata, ...session.outputMetadata].map((m) => (m.isTensor ? m.shape : []));
      assert.deepEqual(shapes, [['N', 3, 'H', 'W'], ['N', 3, 'H_out', 'W_out']]);
    } finally {
      await session.release();
    }
  } finally {
    model.dispose();
  }
});

test('exporting refuses missing weights and metadata that would shadow derived keys', async () => {
  const def = createUNet({ task: 'decrappify', scale: 1, widths });
  const model = new TfModel(def, 1);
  try {
    const weights = await model.readWeights();
    assert.throws(() => exportOnnx(def, weights, { task: 'colorize' }), /set by the exporter/);
    weights.delete('head/end/conv1/bias');
    assert.throws(() => exportOnnx(def, weights), /weights lack head\/end\/conv1\/bias/);
  } finally {
    model.dispose();
  }
});

test('the default models in resources/models match their manifest and run', async () => {
  const dir = new URL('../resources/models/', import.meta.url);
  const manifest = JSON.parse(await readFile(new URL('manifest.json', dir), 'utf8')) as ModelManifest;
  assert.deepEqual(manifest.models.map((m) => m.descriptor.task).sort(), ['colorize', 'decrappify', 'upscale', 'upscale']);
  for (const entry of manifest.models) {
    const bytes = await readFile(new URL(entry.file, dir));
    assert.equal(bytes.length, entry.bytes, entry.id);
    assert.equal(createHash('sha256').update(bytes).digest('hex'), entry.sha256, entry.id);
    const d = entry.descriptor;
    assert.equal(readMetadata(bytes).architecture, d.architecture);
    const session = await ort.InferenceSession.create(bytes);
    try {
      const side = d.sizeMultiplePx * 2;
      const input = new ort.Tensor('float32', new Float32Array(d.inChannels * side * side).fill(0.5), [1, d.inChannels, side, side]);
      const out = (await session.run({ [inputName]: input }))[outputName];
      const outSide = d.resolution === 'low-res' ? side * d.scale : side;
      assert.deepEqual(out.dims, [1, d.outChannels, outSide, outSide], entry.id);
      out.dispose();
    } finally {
      await session.release();
    }
  }
});
