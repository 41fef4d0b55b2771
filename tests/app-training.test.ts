// Fine-tuning through the API (issue 9 item 2) with real worker jobs: a tiny U-Net in the user library
// is the base; 2 epochs with the encoder frozen in the first; pause mid-epoch, "restart the app",
// resume from the checkpoint (steps continue), export into the library and enhance a photo with it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { ApiArgs, ApiMethodName, ApiReply, ApiResult } from '../common/api.ts';
import type { EnhancePhotoResult, JobEvent, JobResults, TrainPoint } from '../common/jobs.ts';
import type { ApiContext } from '../electron/api/context.ts';
import { createApiContext } from '../electron/api/create-context.ts';
import { dispatch } from '../electron/api/dispatch.ts';
import { readOnnxMetadata } from '../electron/engine/onnx-metadata.ts';
import { exportOnnx } from '../trainer/export/onnx-export.ts';
import { readCheckpoint } from '../trainer/fit/checkpoint.ts';
import type { LearnerCheckpointState } from '../trainer/fit/learner.ts';
import { ParamLayout } from '../trainer/fit/param-layout.ts';
import { buildModel } from '../trainer/models/build-model.ts';

let dir: string;
let root: string;
let dataDir: string;
let ctx: ApiContext;
let baseModelId: string;
let datasetId: string;
let tinyId: string;
const events: JobEvent[] = [];
const stepsPerEpoch = 18;

async function writePng(path: string, widthPx: number, heightPx: number, seed: number): Promise<void> {
  const px = Buffer.alloc(widthPx * heightPx * 3);
  for (let y = 0; y < heightPx; y++) {
    for (let x = 0; x < widthPx; x++) {
      const i = (y * widthPx + x) * 3;
      px[i] = (x * 9 + seed * 17) % 256;
      px[i + 1] = (y * 11 + seed * 5) % 256;
      px[i + 2] = ((x ^ y) * 7 + seed) % 256;
    }
  }
  await sharp(px, { raw: { width: widthPx, height: heightPx, channels: 3 } }).png().toFile(path);
}

async function call<M extends ApiMethodName>(method: M, args: ApiArgs<M>, c = ctx): Promise<ApiResult<M>> {
  const reply = (await dispatch(c, method, args)) as ApiReply<M>;
  if (!reply.ok) assert.fail(`${method}: ${reply.error.code}: ${reply.error.message}`);
  return reply.value;
}

const context = () => createApiContext({ mode: 'browser', dataDir, roots: [root], providers: 'cpu', threads: 1, trainWorkers: 0 });
const listen = (c: ApiContext) => c.jobs.onEvent((e) => events.push(e));
const points = (jobId: string): TrainPoint[] => events.flatMap((e) => (e.jobId === jobId && e.type === 'train' ? [e.point] : []));
const plan = (over: Partial<ApiArgs<'validateTrainingPlan'>> = {}): ApiArgs<'validateTrainingPlan'> => ({
  datasetId, task: 'upscale', scale: 2, baseModelId, loss: 'mse', batchSize: 1, cropPx: 16, seed: 1,
  stages: [{ epochs: 1, lr: 2e-3, freeze: ['encoder'] }, { epochs: 1, lr: 1e-3 }], ...over,
});

before(async () => {
  dir = realpathSync(await mkdtemp(join(tmpdir(), 'enhance-app-training-')));
  root = join(dir, 'root');
  dataDir = join(dir, 'data');
  mkdirSync(join(root, 'photos'), { recursive: true });
  mkdirSync(join(root, 'one'));
  // 20 photos: 2 held out for validation, 18 steps per epoch at batch 1.
  for (let i = 0; i < 20; i++) await writePng(join(root, 'photos', `p${String(i).padStart(2, '0')}.png`), 32, 24, i);
  await writePng(join(root, 'one', 'only.png'), 32, 24, 99);
  // The base: a tiny ×2 U-Net exported like any Enhance model, then imported into the user library.
  const def = buildModel({ kind: 'unet', options: { task: 'upscale', scale: 2, widths: [4, 8] } });
  writeFileSync(join(root, 'tiny-x2.onnx'), exportOnnx(def, new ParamLayout(def.params).toMap(new ParamLayout(def.params).initialWeights(3))));
  ctx = context();
  listen(ctx);
  baseModelId = (await call('importModel', { path: join(root, 'tiny-x2.onnx'), name: 'tiny x2' })).id;
  const a = await call('importDataset', { folder: join(root, 'photos') });
  const b = await call('importDataset', { folder: join(root, 'one') });
  datasetId = a.datasetId;
  tinyId = b.datasetId;
  await Promise.all([ctx.jobs.wait(a.jobId), ctx.jobs.wait(b.jobId)]);
});

after(async () => {
  await ctx.jobs.dispose();
  rmSync(dir, { recursive: true, force: true });
});

test('layer groups come from the model, and the plan check finds every problem as the user types', async () => {
  assert.deepEqual((await call('trainingGroups', { modelId: baseModelId })).groups.map((g) => g.name), ['encoder', 'decoder', 'head']);
  assert.ok((await call('trainingGroups', { modelId: 'upscale-x2' })).groups.every((g) => g.parameters > 0));

  const good = await call('validateTrainingPlan', plan());
  assert.deepEqual(good, { ok: true, errors: [], stepsPerEpoch, totalSteps: 2 * stepsPerEpoch, trainImages: 18, validationImages: 2 });

  const bad = await call('validateTrainingPlan', plan({ stages: [{ epochs: 1, lr: 0, freeze: ['encoder', 'decoder', 'head'] }, { epochs: 1, lr: 1e-3, freeze: ['tail'] }] }));
  assert.equal(bad.ok, false);
  assert.equal(bad.errors.length, 3, bad.errors.join('\n'));
  assert.match(bad.errors[0], /stage 1: learning rate must be above 0/);
  assert.match(bad.errors.join('\n'), /stage 1 freezes every layer group: nothing would train/);
  assert.match(bad.errors.join('\n'), /stage 2 freezes 'tail', which the model does not have \(its groups: encoder, decoder, head\)/);

  const few = await call('validateTrainingPlan', plan({ datasetId: tinyId }));
  assert.deepEqual(few.errors, ["dataset 'one': 1 usable photo; training needs at least 2 (one is held out for validation)"]);
  assert.deepEqual((await call('validateTrainingPlan', plan({ cropPx: 64 }))).errors, ['every photo is smaller than the 64 px crop; choose a smaller crop']);
  assert.match((await call('validateTrainingPlan', plan({ baseModelId: 'decrappify' }))).errors[0], /does decrappify, not upscale/);
  assert.match((await call('validateTrainingPlan', plan({ cropPx: 18 }))).errors[0], /crop must be a multiple of 4 px/);
  // The perceptual loss falls back to the classifier shipped in resources/pretrained.
  assert.deepEqual((await call('validateTrainingPlan', plan({ loss: 'perceptual' }))).errors, []);
  const reply = await dispatch(ctx, 'startTraining', plan({ datasetId: tinyId }));
  assert.ok(!reply.ok && reply.error.code === 'usage' && /at least 2/.test(reply.error.message));
  const huge = await dispatch(ctx, 'validateTrainingPlan', plan({ batchSize: 5000 }));
  assert.ok(!huge.ok && huge.error.code === 'invalid-argument');
});

test('fine-tune 2 epochs with a frozen first stage; pause mid-epoch; after a restart resume continues from the checkpoint; export and enhance', async () => {
  const { jobId, runId } = await call('startTraining', { ...plan(), name: 'holiday x2' });
  let pauseAsked = false;
  const off = ctx.jobs.onEvent((e) => {
    if (e.jobId === jobId && e.type === 'train' && e.point.step >= 3 && !pauseAsked) {
      pauseAsked = true;
      void call('pauseTraining', { jobId });
    }
  });
  const paused = await ctx.jobs.wait(jobId);
  off();
  assert.equal(paused.status, 'paused', JSON.stringify(paused.error));
  const pausedResult = paused.result as JobResults['train'];
  assert.equal(pausedResult.status, 'paused');
  const before = points(jobId);
  const pausedAt = before.at(-1)!.step;
  assert.ok(pausedAt >= 3 && pausedAt < 2 * stepsPerEpoch, `paused at step ${pausedAt}`);
  assert.ok(events.some((e) => e.jobId === jobId && e.type === 'progress' && /^epoch 1\/2 · step \d+\/18$/.test(e.progress.message)));
  assert.ok(events.some((e) => e.jobId === jobId && e.type === 'log' && /^backend: /.test(e.message)), 'the backend report is logged');

  // The checkpoint was written at the pause, with the batch index inside its epoch.
  const runDir = join(dataDir, 'runs', runId);
  const state = readCheckpoint(join(runDir, 'checkpoint.ckpt')).state as LearnerCheckpointState;
  assert.equal(state.epochsDone * stepsPerEpoch + (state.partialEpoch?.batchesDone ?? 0), pausedAt);
  assert.notEqual(pausedAt % stepsPerEpoch, 0, 'paused inside an epoch');
  assert.equal(state.partialEpoch?.batchesDone, pausedAt % stepsPerEpoch);

  // "Restart the app": the run said 'running' when the process died, and the step after the checkpoint
  // had reached the chart. A new context shows it paused and resumes from the checkpoint.
  await ctx.jobs.dispose();
  const record = JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8'));
  writeFileSync(join(runDir, 'run.json'), JSON.stringify({ ...record, status: 'running' }));
  appendFileSync(join(runDir, 'points.jsonl'), `${JSON.stringify({ ...before.at(-1), step: pausedAt + 1 })}\n{"step": 9`);
  ctx = context();
  listen(ctx);
  const reopened = (await call('listRuns', {})).find((r) => r.runId === runId)!;
  assert.equal(reopened.status, 'paused');
  assert.equal(reopened.resumable, true);
  assert.equal(reopened.name, 'holiday x2');
  assert.deepEqual(reopened.history.map((p) => p.step).slice(0, pausedAt), before.map((p) => p.step).slice(0, pausedAt));

  const resumed = await call('resumeTraining', { runId });
  assert.equal(resumed.runId, runId);
  const done = await ctx.jobs.wait(resumed.jobId);
  assert.equal(done.status, 'done', JSON.stringify(done.error));
  assert.equal(points(resumed.jobId)[0].step, pausedAt + 1, 'steps continue after the pause');

  const run = (await call('listRuns', {})).find((r) => r.runId === runId)!;
  assert.equal(run.status, 'done');
  assert.equal(run.epochsDone, 2);
  assert.equal(run.stepsDone, 2 * stepsPerEpoch);
  const steps = run.history.filter((p) => !p.validation).map((p) => p.step);
  assert.deepEqual(steps, Array.from({ length: 2 * stepsPerEpoch }, (_, i) => i + 1), 'every step once, none lost or repeated');
  assert.deepEqual([...new Set(run.history.map((p) => p.stage))], [0, 1], 'points for both stages');
  const epochs = run.history.filter((p) => p.validation);
  assert.deepEqual(epochs.map((p) => [p.epoch, p.step, p.stage]), [[1, stepsPerEpoch, 0], [2, 2 * stepsPerEpoch, 1]]);
  for (const p of epochs) {
    assert.ok(p.validation!.loss > 0 && p.validation!.psnr > 5 && p.validation!.ssim! > 0, JSON.stringify(p.validation));
    assert.equal(p.samples?.length, 2, 'one sample per validation crop (2 held out)');
    for (const s of p.samples!) {
      for (const path of [s.input, s.output, s.target]) {
        assert.equal(ctx.guard.check(path, 'read'), path);
        assert.equal((await sharp(path).metadata()).format, 'png');
      }
      assert.deepEqual([(await sharp(s.input).metadata()).width, (await sharp(s.output).metadata()).width], [8, 16]);
    }
  }
  assert.notEqual(epochs[0].samples![0].output, epochs[1].samples![0].output, 'an output per epoch');

  const model = await call('exportRun', { runId, name: 'Holiday ×2' });
  assert.equal(model.source, 'user');
  assert.equal(model.name, 'Holiday ×2');
  assert.deepEqual([model.descriptor.task, model.descriptor.scale], ['upscale', 2]);
  assert.match(model.trainedOn!, new RegExp(`fine-tuned from ${baseModelId} on 18 photos of dataset 'photos' for 2 epochs of 2`));
  const meta = readOnnxMetadata(readFileSync(join(dataDir, 'models', `${model.id}.onnx`)));
  assert.deepEqual(JSON.parse(meta.trainingStages), plan().stages);
  assert.equal(meta.fineTunedFrom, baseModelId);
  assert.ok((await call('listModels', {})).some((m) => m.id === model.id));
  assert.deepEqual((await call('listRuns', {})).find((r) => r.runId === runId)!.exports.map((x) => x.modelId), [model.id]);

  const photo = join(root, 'photos', 'p00.png');
  const enhance = await call('enhancePhoto', { input: photo, task: 'upscale', scale: 2, modelId: model.id });
  const enhanced = await ctx.jobs.wait(enhance.jobId);
  assert.equal(enhanced.status, 'done', JSON.stringify(enhanced.error));
  const result = enhanced.result as EnhancePhotoResult;
  assert.deepEqual([result.outputWidthPx, result.outputHeightPx, result.modelId], [64, 48, model.id]);
  assert.ok(existsSync(result.result));
});

test('cancel stops a run (stopped, no epoch finished so nothing to export); it can be deleted', async () => {
  const { jobId, runId } = await call('startTraining', { ...plan(), stages: [{ epochs: 3, lr: 1e-3 }] });
  const off = ctx.jobs.onEvent((e) => {
    if (e.jobId === jobId && e.type === 'train') {
      off();
      void call('cancelJob', { jobId });
    }
  });
  const job = await ctx.jobs.wait(jobId);
  assert.equal(job.status, 'cancelled');
  const run = (await call('listRuns', {})).find((r) => r.runId === runId)!;
  assert.equal(run.status, 'stopped');
  assert.ok(run.stepsDone < stepsPerEpoch, `${run.stepsDone} steps`);
  const reply = await dispatch(ctx, 'exportRun', { runId });
  assert.ok(!reply.ok && reply.error.code === 'usage' && /no checkpoint yet/.test(reply.error.message));
  assert.deepEqual(await call('deleteRun', { runId }), { deleted: true });
  assert.ok(!existsSync(join(dataDir, 'runs', runId)));
  assert.ok(!(await call('listRuns', {})).some((r) => r.runId === runId));
});
