import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { selectBackend } from '../trainer/backends/select-backend.ts';
import { openImageStore } from '../trainer/data/image-store.ts';
import { dihedral } from '../common/dihedral.ts';
import { freshCheckpoint, readCheckpoint, writeCheckpoint } from '../trainer/fit/checkpoint.ts';
import type { Callback } from '../trainer/fit/learner.ts';
import { ParamLayout } from '../trainer/fit/param-layout.ts';
import { trainRun } from '../trainer/fit/train-run.ts';
import { syntheticSource } from '../trainer/data/synthetic-source.ts';
import { buildModel, type ModelSpec } from '../trainer/models/build-model.ts';
import { initialValues } from '../trainer/models/init.ts';
import { classifierSource, copyEncoder, evaluateAccuracy, pretrainClassifier } from '../trainer/pretrain/pretrain-classifier.ts';
import { run } from '../cli/commands/pretrain.ts';
import { Rng } from '../trainer/rng.ts';

const { backend } = await selectBackend('wasm');
const dir = mkdtempSync(join(tmpdir(), 'enhance-pretrain-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const widths = [8, 16, 32];
const px = 32;

async function writePng(path: string, rgb: Uint8Array, side = px): Promise<void> {
  mkdirSync(join(path, '..'), { recursive: true });
  await sharp(rgb, { raw: { width: side, height: side, channels: 3 } }).png().toFile(path);
}

/** A tiny outdoor scene: light sky over darker ground at a random horizon, random hues, a sun, noise. */
function scene(rng: Rng): Uint8Array {
  const out = new Uint8Array(px * px * 3);
  const sky = [0.55 + 0.35 * rng.next(), 0.6 + 0.3 * rng.next(), 0.75 + 0.25 * rng.next()];
  const ground = [0.15 + 0.35 * rng.next(), 0.15 + 0.35 * rng.next(), 0.1 + 0.25 * rng.next()];
  const horizon = Math.round(px * (0.5 + 0.25 * rng.next()));
  const [sunR, sunC] = [2 + rng.int(horizon / 2), rng.int(px)];
  for (let r = 0; r < px; r++) {
    for (let c = 0; c < px; c++) {
      const sun = (r - sunR) ** 2 + (c - sunC) ** 2 < 9;
      for (let ch = 0; ch < 3; ch++) {
        const v = r < horizon ? (sun ? 1 : sky[ch] * (1 - (0.3 * r) / horizon)) : ground[ch] * (1 - (0.4 * (r - horizon)) / px);
        out[(r * px + c) * 3 + ch] = Math.round(255 * Math.min(1, Math.max(0, v + 0.04 * rng.normal())));
      }
    }
  }
  return out;
}

/** Three classes told apart by colour and pattern: red stripes, green checks, a blue disc on grey. */
function patterned(label: number, rng: Rng): Uint8Array {
  const out = new Uint8Array(px * px * 3);
  const phase = rng.int(8);
  const cell = 3 + rng.int(4);
  const [cr, cc, radius] = [10 + rng.int(12), 10 + rng.int(12), 5 + rng.int(5)];
  for (let r = 0; r < px; r++) {
    for (let c = 0; c < px; c++) {
      const rgb = label === 0 ? ((r + phase) % 8 < 4 ? [0.85, 0.15, 0.1] : [0.4, 0.05, 0.05])
        : label === 1 ? ((Math.floor(r / cell) + Math.floor(c / cell)) % 2 ? [0.1, 0.75, 0.2] : [0.05, 0.3, 0.1])
        : (r - cr) ** 2 + (c - cc) ** 2 < radius ** 2 ? [0.1, 0.2, 0.9] : [0.5, 0.5, 0.5];
      for (let ch = 0; ch < 3; ch++) out[(r * px + c) * 3 + ch] = Math.round(255 * Math.min(1, Math.max(0, rgb[ch] + 0.05 * rng.normal())));
    }
  }
  return out;
}

/** A classifier checkpoint with seeded weights, standing in for a pretrained one. */
function writeClassifier(path: string, seed: number): void {
  const c = freshCheckpoint({ kind: 'classifier', options: { widths, classes: 4 } }, seed);
  c.state.epochsDone = 1;
  writeCheckpoint(path, c);
}

test("a U-Net started from copyEncoder has the classifier's encoder bit for bit and its own seeded init elsewhere", async () => {
  const path = join(dir, 'encoder-source.ckpt');
  writeClassifier(path, 5);
  const classifier = readCheckpoint(path);
  const classifierWeights = new ParamLayout(buildModel(classifier.state.spec).params).toMap(classifier.weights);
  const copied = copyEncoder(path, widths);
  assert.deepEqual([...copied.keys()], [...classifierWeights.keys()].filter((n) => n.startsWith('encoder/')));

  const spec: ModelSpec = { kind: 'unet', options: { task: 'decrappify', scale: 1, widths } };
  let start: Map<string, Float32Array> | undefined;
  let layout: ParamLayout | undefined;
  const capture: Callback = {
    beforeFit(l) {
      layout = l.o.layout;
      start = layout.toMap(l.o.weights.slice());
    },
  };
  const r = await trainRun({
    spec, loss: { kind: 'mse' }, backend, seed: 3, initialWeights: copied, callbacks: [capture],
    data: syntheticSource({ batchSize: 2, cropPx: 16, batchesPerEpoch: 2 }),
    stages: [{ epochs: 1, lr: 1e-3, freeze: ['encoder'] }],
  });
  assert.ok(start && layout && r.completed);
  let encoderParams = 0;
  for (const p of buildModel(spec).params) {
    const got: Float32Array = start.get(p.name)!;
    if (p.name.startsWith('encoder/')) {
      encoderParams++;
      assert.deepEqual(got, classifierWeights.get(p.name), p.name);
      assert.deepEqual(layout.view(r.weights, layout.indexOf(p.name)), got, `${p.name} changed while frozen`);
    } else {
      assert.deepEqual(got, initialValues(p, 3), p.name);
    }
  }
  assert.equal(encoderParams, copied.size);
  assert.throws(() => copyEncoder(path, [8, 16]), /widths 8,16,32, the U-Net 8,16; pretrain a classifier with --widths 8,16/);
});

test('rotation samples are the photo turned k·90°, labelled k; held-out turns cycle through all four', async () => {
  const rgb = scene(new Rng(1));
  const store = { count: 1, get: () => ({ data: rgb, width: px, height: px }) };
  const source = classifierSource({ mode: 'rotation', train: { store, images: [0] }, val: { store, images: [0, 0, 0, 0, 0] }, batchSize: 8, cropPx: px });
  const [val] = await source.validation();
  assert.deepEqual(val.yShape, [5, 4]);
  const upright = Float32Array.from(rgb, (v) => v / 255);
  const n = px * px * 3;
  for (let i = 0; i < 5; i++) {
    assert.deepEqual([...val.y.subarray(4 * i, 4 * i + 4)], [0, 1, 2, 3].map((k) => (k === i % 4 ? 1 : 0)));
    assert.deepEqual(val.x.subarray(i * n, (i + 1) * n), dihedral(upright, px, px, 3, i % 4).data);
  }
  const train = await source.batch(0, 0);
  const labels = new Set<number>();
  for (let i = 0; i < 8; i++) {
    const k = [...train.y.subarray(4 * i, 4 * i + 4)].indexOf(1);
    labels.add(k);
    // Either turn k of the photo or of its mirror image.
    const x = train.x.subarray(i * n, (i + 1) * n);
    const mirrored = dihedral(upright, px, px, 3, 4).data;
    const candidates = [dihedral(upright, px, px, 3, k).data, dihedral(mirrored, px, px, 3, k).data];
    assert.ok(candidates.some((c) => c.every((v, j) => v === x[j])), `sample ${i} is not turn ${k}`);
  }
  assert.ok(labels.size >= 2, 'turns should vary');
});

test('rotation pretraining on unlabelled generated scenes beats chance clearly (≥ 0.5 held out)', async () => {
  const photos = join(dir, 'photos');
  const held = join(dir, 'held-out');
  const rng = new Rng(11);
  for (let i = 0; i < 48; i++) await writePng(join(photos, `p${i}.png`), scene(rng));
  for (let i = 0; i < 32; i++) await writePng(join(held, `h${i}.png`), scene(rng));
  const before = tf.memory().numTensors;
  const out = join(dir, 'rotation.ckpt');
  const r = await pretrainClassifier({
    mode: 'rotation', dataDir: photos, valDir: held, storeDir: join(dir, 'rotation-store'), out, widths,
    epochs: 25, lr: 3e-3, batchSize: 16, cropPx: px, backend, workers: 0, seed: 1,
  });
  assert.equal(tf.memory().numTensors, before, 'tensor leak');
  assert.ok(r.completed && r.heldOut);
  assert.equal(r.classes.length, 4);
  assert.deepEqual([r.trainImages, r.heldOutImages, r.heldOut.total], [48, 32, 32]);
  assert.ok(r.heldOut.accuracy >= 0.5, `held-out accuracy ${r.heldOut.accuracy}`);
  assert.deepEqual((readCheckpoint(out).state.config.pretrain as { heldOut: unknown }).heldOut, r.heldOut);
});

test('supervised pretraining (the CLI) on a generated Tiny-ImageNet-layout set reaches high held-out accuracy', async () => {
  const root = join(dir, 'tiny');
  const wnids = ['n00000001', 'n00000002', 'n00000003'];
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'wnids.txt'), wnids.join('\n'));
  const rng = new Rng(12);
  const annotations: string[] = [];
  for (const [label, id] of wnids.entries()) {
    for (let i = 0; i < 16; i++) await writePng(join(root, 'train', id, 'images', `${id}_${i}.png`), patterned(label, rng));
    for (let i = 0; i < 8; i++) {
      await writePng(join(root, 'val', 'images', `val_${label}_${i}.png`), patterned(label, rng));
      annotations.push(`val_${label}_${i}.png\t${id}\t0\t0\t${px}\t${px}`);
    }
  }
  writeFileSync(join(root, 'val', 'val_annotations.txt'), annotations.join('\n'));
  const out = join(dir, 'supervised.ckpt');
  const code = await run(['--mode', 'supervised', '--data', root, '--out', out, '--widths', widths.join(','), '--crop', String(px),
    '--epochs', '6', '--batch', '12', '--workers', '0', '--backend', 'wasm', '--seed', '2']);
  assert.equal(code, 0);
  const c = readCheckpoint(out);
  const recorded = c.state.config.pretrain as { mode: string; classes: { id: string }[]; heldOut: { accuracy: number; total: number } };
  assert.equal(recorded.mode, 'supervised');
  assert.deepEqual(recorded.classes.map((k) => k.id), wnids);
  assert.equal(recorded.heldOut.total, 24);
  assert.ok(recorded.heldOut.accuracy >= 0.9, `held-out accuracy ${recorded.heldOut.accuracy}`);

  // The recorded number is the checkpoint's own: evaluate its weights again on the stored val split.
  const val = openImageStore(`${out}.store/val`);
  try {
    const batches = await classifierSource({ mode: 'supervised', train: { store: val, images: [0] }, val: { store: val, images: [...Array(val.count).keys()] },
      classes: 3, batchSize: 12, cropPx: px }).validation();
    const again = await evaluateAccuracy(c.state.spec, new ParamLayout(buildModel(c.state.spec).params).toMap(c.weights), batches);
    assert.deepEqual(again, recorded.heldOut);
  } finally {
    val.close();
  }

  // Same parameter names, other class count: resuming into this file would silently mix the heads.
  await assert.rejects(pretrainClassifier({
    mode: 'rotation', dataDir: root, storeDir: join(dir, 'other-store'), out, widths, epochs: 1, batchSize: 12, cropPx: px, backend, workers: 0,
  }), /holds a different model .*"classes":3.*"classes":4/);
});
