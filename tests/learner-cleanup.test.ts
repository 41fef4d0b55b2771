// A long-lived app runs many trainings (issue 9 items 2 and 4): a cancelled fit releases everything it
// took (tensors, worker threads, open files) through the Learner's cleanup hook, and a pause keeps the
// half-done epoch: the checkpoint holds the batch index and a resume ends bit-identical to a run that
// never stopped.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { selectBackend } from '../trainer/backends/select-backend.ts';
import { importToStore } from '../trainer/data/image-store.ts';
import { syntheticSource } from '../trainer/data/synthetic-source.ts';
import { readCheckpoint } from '../trainer/fit/checkpoint.ts';
import type { Callback, LearnerCheckpointState } from '../trainer/fit/learner.ts';
import { trainRun } from '../trainer/fit/train-run.ts';
import { WorkerGradEngine } from '../trainer/fit/worker-grad-engine.ts';
import { trainModel } from '../trainer/train-model.ts';

const root = mkdtempSync(join(tmpdir(), 'enhance-learner-cleanup-'));
const { backend } = await selectBackend('wasm');
const openFiles = () => readdirSync('/proc/self/fd').length;
after(() => rmSync(root, { recursive: true, force: true }));

test('five start → cancel cycles leave tensors, worker threads and open files where they started', async () => {
  const photos = join(root, 'photos');
  mkdirSync(photos);
  for (let i = 0; i < 6; i++) {
    const px = Buffer.alloc(32 * 24 * 3);
    for (let p = 0; p < px.length; p++) px[p] = (p * (i + 5) + (p >> 6) * 13) % 256;
    await sharp(px, { raw: { width: 32, height: 24, channels: 3 } }).png().toFile(join(photos, `p${i}.png`));
  }
  const store = join(root, 'store');
  await importToStore(store, photos);
  const start = { tensors: tf.memory().numTensors, workers: WorkerGradEngine.liveWorkers, files: openFiles() };
  for (let cycle = 0; cycle < 5; cycle++) {
    const workers = cycle % 2 === 0 ? 1 : 0;
    const abort = new AbortController();
    let during: { tensors: number; workers: number } | undefined;
    const r = await trainModel({
      task: 'upscale', scale: 2, store, out: join(root, `run-${cycle}`), widths: [4, 8], stages: [{ epochs: 3, lr: 1e-3 }],
      batchSize: 2, cropPx: 16, workers, backend: 'wasm', loss: 'mse', samples: 2,
    }, (e) => {
      // Cancel in the second epoch: by then the validation callback holds its copy of the model.
      if (e.type === 'fit' && e.event.kind === 'batch' && e.event.epoch === 1 && !abort.signal.aborted) {
        during = { tensors: tf.memory().numTensors, workers: WorkerGradEngine.liveWorkers };
        abort.abort();
      }
    }, abort.signal);
    assert.equal(r.completed, false, `cycle ${cycle}: cancelled`);
    assert.ok(during && during.tensors > start.tensors, `cycle ${cycle}: the run held tensors (${during?.tensors} > ${start.tensors})`);
    assert.equal(during.workers, start.workers + workers, `cycle ${cycle}: ${workers} replica threads ran`);
    assert.equal(tf.memory().numTensors, start.tensors, `cycle ${cycle}: tensors left behind`);
    assert.equal(WorkerGradEngine.liveWorkers, start.workers, `cycle ${cycle}: worker threads left behind`);
    assert.equal(openFiles(), start.files, `cycle ${cycle}: open files left behind`);
  }
});

test('a pause checkpoints mid-epoch with the batch index, and the resumed run ends bit-identical to an uninterrupted one', async () => {
  const spec = { kind: 'unet' as const, options: { task: 'decrappify' as const, scale: 1 as const, widths: [4, 8] } };
  const common = {
    spec, loss: { kind: 'mse' as const }, backend, seed: 5, stages: [{ epochs: 1, lr: 3e-3, freeze: ['encoder'] }, { epochs: 1, lr: 1e-3 }],
  };
  const data = () => syntheticSource({ batchSize: 2, cropPx: 16, batchesPerEpoch: 5, seed: 4 });
  const whole = await trainRun({ ...common, data: data() });

  const checkpointPath = join(root, 'paused.ckpt');
  const pause = new AbortController();
  // Ask for the pause after batch 2 of the second epoch; the learner stops before batch 3.
  const pauser: Callback = { afterBatch: (l) => void (l.epoch === 1 && l.batchIndex === 1 && pause.abort()) };
  const first = await trainRun({ ...common, data: data(), checkpointPath, pauseSignal: pause.signal, callbacks: [pauser] });
  assert.equal(first.paused, true);
  assert.equal(first.completed, false);
  const state = readCheckpoint(checkpointPath).state as LearnerCheckpointState;
  assert.equal(state.epochsDone, 1);
  assert.equal(state.partialEpoch?.batchesDone, 2);
  assert.equal(state.partialEpoch?.batchesPerEpoch, 5);

  const batches: string[] = [];
  const resumed = await trainRun({
    ...common, data: data(), checkpointPath, onEvent: (e) => void (e.kind === 'batch' && batches.push(`${e.epoch}/${e.batch}`)),
  });
  assert.equal(resumed.completed, true);
  assert.equal(resumed.resumedFromEpoch, 1);
  assert.equal(resumed.resumedFromBatch, 2);
  assert.deepEqual(batches, ['1/2', '1/3', '1/4'], 'the resume continues with the batch after the pause');
  assert.equal(Buffer.compare(Buffer.from(resumed.weights.buffer), Buffer.from(whole.weights.buffer)), 0, 'weights differ from the uninterrupted run');
  assert.deepEqual(resumed.history.map((h) => [h.trainLoss, h.valLoss]), whole.history.map((h) => [h.trainLoss, h.valLoss]));
});
