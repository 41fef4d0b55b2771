import { existsSync } from 'node:fs';
import type { BackendChoice } from '../backends/select-backend.ts';
import { buildModel, type ModelSpec } from '../models/build-model.ts';
import type { LossSpec } from '../losses/losses.ts';
import type { DataSource } from './batch.ts';
import { cancelOn, checkpointEvery, type FitEvent, oneCycleSchedule, pauseOn, progress } from './callbacks.ts';
import { readCheckpoint } from './checkpoint.ts';
import { imageMetrics, type ImageMetricsOptions } from './image-metrics-callback.ts';
import { LocalGradEngine, type GradEngine } from './grad-engine.ts';
import { type Callback, Learner, type FitResult, type Stage } from './learner.ts';
import { ParamLayout } from './param-layout.ts';
import type { AdamWOptions } from './adamw.ts';
import { WorkerGradEngine } from './worker-grad-engine.ts';

export interface TrainRunOptions {
  spec: ModelSpec;
  loss: LossSpec;
  data: DataSource;
  stages: Stage[];
  seed?: number;
  /** The backend already selected in this thread; workers select the same one. */
  backend: BackendChoice;
  /** Data-parallel worker threads; 0 trains in this thread. */
  workers?: number;
  /** Written after every epoch and on a pause; if it exists, training resumes from it (mid-epoch after a pause). */
  checkpointPath?: string;
  /** Starting weights for some parameters by name (e.g. a pretrained `encoder/...`). */
  initialWeights?: Map<string, Float32Array>;
  adamw?: AdamWOptions;
  callbacks?: Callback[];
  onEvent?: (e: FitEvent) => void;
  /** Cancel: stop after the current batch; the last epoch checkpoint stays. */
  signal?: AbortSignal;
  /** Pause: stop after the current batch and checkpoint there. */
  pauseSignal?: AbortSignal;
  /** Validation crops as images after every epoch. */
  samples?: ImageMetricsOptions;
}

export interface TrainRunResult extends FitResult {
  layout: ParamLayout;
  weights: Float32Array;
  resumedFromEpoch?: number;
  /** Batches of epoch `resumedFromEpoch + 1` that a paused checkpoint had already done. */
  resumedFromBatch?: number;
}

/** Sets up weights, engine, callbacks and resume, runs the stages, and tears the engine down. */
export async function trainRun(o: TrainRunOptions): Promise<TrainRunResult> {
  const def = buildModel(o.spec);
  const layout = new ParamLayout(def.params);
  const seed = o.seed ?? 0;
  const workers = o.workers ?? 0;
  const weights = new Float32Array(workers > 0 ? new SharedArrayBuffer(layout.total * 4) : new ArrayBuffer(layout.total * 4));
  layout.initialWeights(seed, weights);
  for (const [name, values] of o.initialWeights ?? []) weights.set(values, layout.offsets[layout.indexOf(name)]);
  const engine: GradEngine = workers > 0
    ? await WorkerGradEngine.start({ spec: o.spec, lossSpec: o.loss, backend: o.backend, layout, weights, workers })
    : new LocalGradEngine(o.spec, o.loss, weights);
  const callbacks = [oneCycleSchedule(), imageMetrics(o.samples), ...(o.callbacks ?? [])];
  if (o.checkpointPath) callbacks.push(checkpointEvery(o.checkpointPath, { loss: o.loss, stages: o.stages }));
  if (o.onEvent) callbacks.push(progress(o.onEvent));
  if (o.signal) callbacks.push(cancelOn(o.signal));
  if (o.pauseSignal) callbacks.push(pauseOn(o.pauseSignal));
  const learner = new Learner({ spec: o.spec, layout, weights, engine, data: o.data, stages: o.stages, callbacks, seed, adamw: o.adamw });
  let resumedFromEpoch: number | undefined;
  let resumedFromBatch: number | undefined;
  try {
    if (o.checkpointPath && existsSync(o.checkpointPath)) {
      learner.restore(readCheckpoint(o.checkpointPath));
      resumedFromEpoch = learner.epochsDone;
      resumedFromBatch = learner.partialEpoch?.batchesDone;
    }
    const result = await learner.fit();
    return { ...result, layout, weights, resumedFromEpoch, resumedFromBatch };
  } finally {
    await engine.dispose();
  }
}
