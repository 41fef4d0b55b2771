import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../trainer/backends/select-backend.ts';
import { trainRun } from '../trainer/fit/train-run.ts';
import { readCheckpoint } from '../trainer/fit/checkpoint.ts';
import { syntheticSource } from '../trainer/data/synthetic-source.ts';
import { LocalGradEngine } from '../trainer/fit/grad-engine.ts';
import { WorkerGradEngine } from '../trainer/fit/worker-grad-engine.ts';
import { ParamLayout } from '../trainer/fit/param-layout.ts';
import { buildModel, type ModelSpec } from '../trainer/models/build-model.ts';
import type { Batch } from '../trainer/fit/batch.ts';
import type { Callback } from '../trainer/fit/learner.ts';
import { psnrY } from '../common/image-metrics.ts';

const tiny: ModelSpec = { kind: 'unet', options: { task: 'decrappify', scale: 1, widths: [8, 16, 32] } };
const { backend } = await selectBackend('wasm');

function groupSlice(layout: ParamLayout, w: Float32Array, group: string): Float32Array {
  return Float32Array.from(layout.names.flatMap((n, i) => (n.startsWith(`${group}/`) ? [...layout.view(w, i)] : [])));
}

test('a frozen encoder stays bit-identical in its stage and changes once unfrozen', async () => {
  const snapshots: Float32Array[] = [];
  const snap: Callback = { afterEpoch: (l) => void snapshots.push(l.o.weights.slice()) };
  const def = buildModel(tiny);
  const layout = new ParamLayout(def.params);
  const initial = layout.initialWeights(1);
  await trainRun({
    spec: tiny, loss: { kind: 'mse' }, backend, seed: 1, callbacks: [snap],
    data: syntheticSource({ batchSize: 4, cropPx: 16, batchesPerEpoch: 4 }),
    stages: [{ epochs: 1, lr: 1e-2, freeze: ['encoder'] }, { epochs: 1, lr: 1e-3 }],
  });
  const enc0 = groupSlice(layout, initial, 'encoder');
  assert.ok(enc0.length > 0);
  assert.deepEqual(groupSlice(layout, snapshots[0], 'encoder'), enc0, 'encoder changed while frozen');
  assert.notDeepEqual(groupSlice(layout, snapshots[0], 'decoder'), groupSlice(layout, initial, 'decoder'), 'decoder did not train');
  assert.notDeepEqual(groupSlice(layout, snapshots[1], 'encoder'), enc0, 'encoder did not train after unfreezing');
});

test('a tiny U-Net overfits one tiny batch (loss falls at least 10×)', async () => {
  const losses: number[] = [];
  await trainRun({
    spec: tiny, loss: { kind: 'mse' }, backend, seed: 2,
    data: syntheticSource({ batchSize: 2, cropPx: 16, batchesPerEpoch: 25, sameBatch: true, noiseStd: 0.2 }),
    stages: [{ epochs: 6, lr: 1e-2 }],
    onEvent: (e) => void (e.kind === 'batch' && losses.push(e.loss)),
  });
  const first = losses[0];
  const last = Math.min(...losses.slice(-5));
  assert.ok(first / last >= 10, `loss went from ${first} to ${last}`);
});

test('a killed run resumes from its checkpoint and ends with the same weights as an uninterrupted one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'enhance-resume-'));
  try {
    const child = join(import.meta.dirname, 'helpers', 'train-child.ts');
    const run = (ckpt: string, out: string) =>
      JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', child, ckpt, out, '4'], { encoding: 'utf8' }).trim().split('\n').pop()!);
    const straight = run(join(dir, 'a.ckpt'), join(dir, 'a.bin'));
    assert.equal(straight.resumedFromEpoch, null);

    const ckpt = join(dir, 'b.ckpt');
    const victim = spawn(process.execPath, ['--import', 'tsx', child, ckpt, join(dir, 'b.bin'), '4'], { stdio: 'ignore' });
    await new Promise<void>((resolve, reject) => {
      const poll = setInterval(() => {
        if (existsSync(ckpt)) {
          clearInterval(poll);
          victim.kill('SIGKILL');
          resolve();
        }
      }, 5);
      victim.once('exit', () => {
        clearInterval(poll);
        reject(new Error('the run ended before it could be killed'));
      });
    });
    await new Promise((r) => victim.once('exit', r));
    assert.ok(!existsSync(join(dir, 'b.bin')), 'the killed run must not have finished');
    const killedAt = readCheckpoint(ckpt).state.epochsDone;
    assert.ok(killedAt >= 1 && killedAt < 4);
    const resumed = run(ckpt, join(dir, 'b.bin'));
    assert.equal(resumed.resumedFromEpoch, killedAt);
    assert.deepEqual(readFileSync(join(dir, 'b.bin')), readFileSync(join(dir, 'a.bin')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a non-finite loss stops training, keeps the last good checkpoint and says so', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'enhance-nan-'));
  try {
    const good = syntheticSource({ batchSize: 2, cropPx: 16, batchesPerEpoch: 3 });
    const data = {
      batchesPerEpoch: 3,
      batch(epoch: number, index: number): Batch {
        const b = good.batch(epoch, index) as Batch;
        if (epoch === 1 && index === 1) b.x[5] = NaN;
        return b;
      },
    };
    const ckpt = join(dir, 'run.ckpt');
    const r = await trainRun({ spec: tiny, loss: { kind: 'mse' }, backend, data, stages: [{ epochs: 3, lr: 1e-3 }], checkpointPath: ckpt });
    assert.equal(r.completed, false);
    assert.match(r.stoppedBecause ?? '', /loss became NaN at epoch 2 batch 2.*last checkpoint \(epoch 1\) is kept/);
    const c = readCheckpoint(ckpt);
    assert.equal(c.state.epochsDone, 1);
    assert.ok(c.weights.every(Number.isFinite));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('two data-parallel workers give the gradient of one engine on the whole batch', async () => {
  const def = buildModel(tiny);
  const layout = new ParamLayout(def.params);
  const weights = layout.initialWeights(5, new Float32Array(new SharedArrayBuffer(layout.total * 4)));
  const batch = syntheticSource({ batchSize: 5, cropPx: 16, batchesPerEpoch: 1 }).batch(0, 0) as Batch;
  const all = layout.names.map((_, i) => i);
  const local = new LocalGradEngine(tiny, { kind: 'mse' }, weights);
  const g1 = new Float32Array(layout.total);
  const before = tf.memory().numTensors;
  const l1 = await local.lossAndGrads(batch, all, all, g1);
  assert.equal(tf.memory().numTensors, before, 'a training step leaked tensors');
  await local.dispose();
  const par = await WorkerGradEngine.start({ spec: tiny, lossSpec: { kind: 'mse' }, backend, layout, weights, workers: 2 });
  const g2 = new Float32Array(layout.total);
  const l2 = await par.lossAndGrads(batch, all, all, g2);
  await par.dispose();
  assert.ok(Math.abs(l1 - l2) <= 1e-5 * Math.abs(l1));
  let maxDiff = 0;
  let maxAbs = 0;
  for (let i = 0; i < g1.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(g1[i] - g2[i]));
    maxAbs = Math.max(maxAbs, Math.abs(g1[i]));
  }
  assert.ok(maxAbs > 0 && maxDiff / maxAbs <= 1e-5, `relative gradient difference ${maxDiff / maxAbs}`);
});

test('epoch records carry validation PSNR/SSIM from the shared metric code', async () => {
  // With lr 0 the zero-initialised head keeps a decrappify U-Net the identity, so its validation
  // scores must equal those of the noisy inputs themselves.
  const source = syntheticSource({ batchSize: 2, cropPx: 16, batchesPerEpoch: 1, seed: 9 });
  const val = [source.batch(5, 0) as Batch];
  const r = await trainRun({ spec: tiny, loss: { kind: 'mse' }, backend, data: { ...source, validation: () => val }, stages: [{ epochs: 1, lr: 0 }] });
  const m = r.history[0].metrics!;
  const px = 16 * 16;
  let psnr = 0;
  for (let i = 0; i < 2; i++) {
    const img = (a: Float32Array) => ({ data: Array.from(a.subarray(i * px * 3, (i + 1) * px * 3), (v) => Math.round(Math.min(1, Math.max(0, v)) * 255)), width: 16, height: 16 });
    psnr += psnrY(img(val[0].x), img(val[0].y)) / 2;
  }
  assert.ok(Math.abs(m.psnrY - psnr) < 1e-3, `metrics psnrY ${m.psnrY} vs ${psnr}`);
  assert.ok(m.ssimY > 0 && m.ssimY < 1);
});

test('cancelling stops after the current batch; the run resumes from the last epoch checkpoint', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'enhance-cancel-'));
  try {
    const ckpt = join(dir, 'run.ckpt');
    const abort = new AbortController();
    const data = syntheticSource({ batchSize: 2, cropPx: 16, batchesPerEpoch: 3 });
    const seen: string[] = [];
    const first = await trainRun({
      spec: tiny, loss: { kind: 'mse' }, backend, data, stages: [{ epochs: 3, lr: 1e-3 }], checkpointPath: ckpt, signal: abort.signal,
      onEvent: (e) => {
        if (e.kind !== 'batch') return;
        seen.push(`${e.epoch}/${e.batch}`);
        if (e.epoch === 1 && e.batch === 0) abort.abort();
      },
    });
    assert.equal(first.completed, false);
    assert.equal(first.stoppedBecause, 'cancelled');
    assert.deepEqual(seen, ['0/0', '0/1', '0/2', '1/0']);
    assert.equal(readCheckpoint(ckpt).state.epochsDone, 1);
    const second = await trainRun({ spec: tiny, loss: { kind: 'mse' }, backend, data, stages: [{ epochs: 3, lr: 1e-3 }], checkpointPath: ckpt });
    assert.equal(second.resumedFromEpoch, 1);
    assert.equal(second.completed, true);
    assert.deepEqual(second.history.map((h) => h.epoch), [1, 2, 3]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
