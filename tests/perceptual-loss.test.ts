import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { rgbToYcc, yccToRgb } from '../common/color.ts';
import { selectBackend } from '../trainer/backends/select-backend.ts';
import type { Batch, DataSource } from '../trainer/fit/batch.ts';
import { freshCheckpoint, writeCheckpoint } from '../trainer/fit/checkpoint.ts';
import { trainRun } from '../trainer/fit/train-run.ts';
import { syntheticSource } from '../trainer/data/synthetic-source.ts';
import { makeLoss, type LossSpec } from '../trainer/losses/losses.ts';
import { frozenEncoder, releaseFrozenEncoders } from '../trainer/losses/perceptual-loss.ts';
import { buildModel, type ModelSpec } from '../trainer/models/build-model.ts';
import { initialValues } from '../trainer/models/init.ts';
import { Rng } from '../trainer/rng.ts';

const { backend } = await selectBackend('wasm');
const dir = mkdtempSync(join(tmpdir(), 'enhance-perceptual-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const tensorsAtStart = tf.memory().numTensors;

/** A classifier checkpoint with seeded random weights: enough to give the feature term something to compare. */
function writeClassifier(path: string, seed: number): void {
  const c = freshCheckpoint({ kind: 'classifier', options: { widths: [8, 16, 32], classes: 4 } }, seed);
  c.state.epochsDone = 1;
  writeCheckpoint(path, c);
}

const classifierPath = join(dir, 'classifier.ckpt');
writeClassifier(classifierPath, 5);

function random(shape: number[], seed: number, lo = 0, hi = 1): tf.Tensor {
  const rng = new Rng(seed);
  return tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => lo + (hi - lo) * rng.next()), shape);
}

function lossValue(spec: LossSpec, pred: tf.Tensor, target: tf.Tensor, input: tf.Tensor): number {
  const fn = makeLoss(spec);
  return tf.tidy(() => fn(pred, target, input).dataSync()[0]);
}

const perceptual = (o: { lambda?: number; layer?: number } = {}): LossSpec => ({ kind: 'perceptual', classifierPath, ...o });

// Loads (and caches) the encoder so the tensor counts below measure only per-call work.
frozenEncoder(classifierPath);

test('with λ = 0 the perceptual loss is the pixel MSE; with λ > 0 it adds λ times a positive feature term', () => {
  const before = tf.memory().numTensors;
  const pred = random([2, 16, 16, 3], 1);
  const target = random([2, 16, 16, 3], 2);
  const mse = lossValue({ kind: 'mse' }, pred, target, pred);
  assert.ok(mse > 0);
  assert.equal(lossValue(perceptual({ lambda: 0 }), pred, target, pred), mse);
  const withDefault = lossValue(perceptual(), pred, target, pred);
  const at01 = lossValue(perceptual({ lambda: 0.1 }), pred, target, pred);
  const at02 = lossValue(perceptual({ lambda: 0.2 }), pred, target, pred);
  assert.ok(withDefault > mse, `perceptual ${withDefault} vs mse ${mse}`);
  assert.equal(withDefault, at01, 'the default λ is 0.1');
  assert.ok(Math.abs((at02 - mse) / (at01 - mse) - 2) < 1e-3, 'the feature term scales with λ');
  assert.equal(lossValue(perceptual(), pred, pred, pred), 0, 'identical images cost nothing');
  tf.dispose([pred, target]);
  assert.equal(tf.memory().numTensors, before, 'tensor leak');
});

test('the feature layer defaults to the deepest stage; earlier stages and bad layers are handled', () => {
  assert.equal(frozenEncoder(classifierPath).layer, 2);
  const pred = random([1, 16, 16, 3], 3);
  const target = random([1, 16, 16, 3], 4);
  const deepest = lossValue(perceptual({ layer: 2 }), pred, target, pred);
  assert.equal(lossValue(perceptual(), pred, target, pred), deepest);
  assert.notEqual(lossValue(perceptual({ layer: 0 }), pred, target, pred), deepest);
  assert.throws(() => makeLoss(perceptual({ layer: 3 })), /layer 3 is not a stage .* \(0–2\)/);
  tf.dispose([pred, target]);
});

test('colorize: the classifier compares the RGB that predicted and true chroma make with the input Y', () => {
  const n = 2;
  const px = 16;
  const y = random([n, px, px, 1], 5, 0.2, 0.8);
  const predC = random([n, px, px, 2], 6, -0.2, 0.2);
  const targetC = random([n, px, px, 2], 7, -0.2, 0.2);
  const loss = lossValue(perceptual({ lambda: 0.5 }), predC, targetC, y);
  const mse = lossValue({ kind: 'mse' }, predC, targetC, y);
  // The same RGB built in JS with common/color.ts, fed to the frozen encoder directly.
  const rgbOf = (c: tf.Tensor): tf.Tensor => {
    const yv = y.dataSync();
    const cv = c.dataSync();
    const out = new Float32Array(n * px * px * 3);
    for (let i = 0; i < yv.length; i++) out.set(yccToRgb(yv[i], cv[2 * i], cv[2 * i + 1]), 3 * i);
    return tf.tensor(out, [n, px, px, 3]);
  };
  const enc = frozenEncoder(classifierPath);
  const feature = tf.tidy(() => tf.mean(tf.squaredDifference(enc.features(rgbOf(predC)), enc.features(rgbOf(targetC)))).dataSync()[0]);
  assert.ok(feature > 0);
  assert.ok(Math.abs(loss - (mse + 0.5 * feature)) < 1e-5 * loss, `${loss} vs ${mse} + 0.5 × ${feature}`);
  const rgbInput = random([n, px, px, 3], 8);
  assert.throws(() => lossValue(perceptual(), predC, targetC, rgbInput), /needs the luminance input/);
  tf.dispose([y, predC, targetC, rgbInput]);
});

test('the feature term sends gradient into the prediction', () => {
  const pred = random([1, 16, 16, 3], 9);
  const target = random([1, 16, 16, 3], 10);
  const gradOf = (spec: LossSpec) => {
    const fn = makeLoss(spec);
    return tf.tidy(() => tf.grad((p: tf.Tensor) => fn(p, target, p))(pred).dataSync() as Float32Array);
  };
  const plain = gradOf(perceptual({ lambda: 0 }));
  const withFeatures = gradOf(perceptual({ lambda: 1 }));
  const maxDiff = plain.reduce((m, g, i) => Math.max(m, Math.abs(g - withFeatures[i])), 0);
  assert.ok(maxDiff > 1e-6, `gradients differ by at most ${maxDiff}`);
  tf.dispose([pred, target]);
});

test('training a U-Net with the perceptual loss (workers and colorize) leaves the frozen classifier unchanged', async () => {
  const fileBefore = readFileSync(classifierPath);
  const probe = random([1, 16, 16, 3], 11);
  const enc = frozenEncoder(classifierPath);
  const featuresBefore = tf.tidy(() => enc.features(probe).dataSync());
  const before = tf.memory().numTensors;

  const spec: ModelSpec = { kind: 'unet', options: { task: 'decrappify', scale: 1, widths: [8, 16, 32] } };
  const r = await trainRun({
    spec, loss: perceptual(), backend, workers: 2, seed: 1,
    data: syntheticSource({ batchSize: 4, cropPx: 16, batchesPerEpoch: 3, noiseStd: 0.2 }),
    stages: [{ epochs: 1, lr: 3e-3 }],
  });
  assert.ok(r.completed);
  const initial = initialValues(buildModel(spec).params.find((p) => p.name === 'decoder/up1/conv1/kernel')!, 1);
  assert.notDeepEqual(r.layout.toMap(r.weights).get('decoder/up1/conv1/kernel'), initial, 'the U-Net did not train');

  // Colorize in this thread, with validation, so both loss call sites get the luminance input.
  const colorize: ModelSpec = { kind: 'unet', options: { task: 'colorize', scale: 1, widths: [8, 16, 32] } };
  const rgb = syntheticSource({ batchSize: 2, cropPx: 16, batchesPerEpoch: 2, noiseStd: 0 });
  const toYcc = (b: Batch): Batch => {
    const n = b.xShape[0] * 16 * 16;
    const x = new Float32Array(n);
    const y = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) {
      [x[i], y[2 * i], y[2 * i + 1]] = rgbToYcc(b.y[3 * i], b.y[3 * i + 1], b.y[3 * i + 2]);
    }
    return { x, xShape: [b.xShape[0], 16, 16, 1], y, yShape: [b.xShape[0], 16, 16, 2] };
  };
  const data: DataSource = {
    batchesPerEpoch: 2,
    batch: (e, i) => toYcc(rgb.batch(e, i) as Batch),
    validation: () => [toYcc(rgb.batch(9, 0) as Batch)],
  };
  const c = await trainRun({ spec: colorize, loss: perceptual(), backend, data, stages: [{ epochs: 1, lr: 1e-3 }] });
  assert.ok(c.completed);
  assert.ok(Number.isFinite(c.history[0].valLoss), 'validation loss');

  assert.deepEqual(readFileSync(classifierPath), fileBefore);
  assert.strictEqual(frozenEncoder(classifierPath), enc, 'the cached encoder was reused');
  assert.deepEqual(tf.tidy(() => enc.features(probe).dataSync()), featuresBefore, 'the frozen encoder changed');
  assert.equal(tf.memory().numTensors, before, 'tensor leak');
  probe.dispose();
});

test('a rewritten classifier is reloaded, and releasing frees every cached encoder', () => {
  const path = join(dir, 'rewritten.ckpt');
  writeClassifier(path, 20);
  const probe = random([1, 16, 16, 3], 12);
  const first = tf.tidy(() => frozenEncoder(path).features(probe).dataSync());
  writeClassifier(path, 21);
  const second = tf.tidy(() => frozenEncoder(path).features(probe).dataSync());
  assert.notDeepEqual(second, first);
  probe.dispose();
  releaseFrozenEncoders();
  assert.equal(tf.memory().numTensors, tensorsAtStart);
});
