import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { backendOrder, selectBackend } from './backends/select-backend.ts';
import { importToStore, openImageStore } from './data/image-store.ts';
import { pairSource } from './data/pair-source.ts';
import { exportOnnx } from './export/onnx-export.ts';
import type { FitEvent } from './fit/callbacks.ts';
import type { SampleImage } from './fit/image-metrics-callback.ts';
import { trainRun, type TrainRunResult } from './fit/train-run.ts';
import { buildModel } from './models/build-model.ts';
import { writeFileAtomic } from './atomic-write.ts';
import { copyEncoder } from './pretrain/pretrain-classifier.ts';
import { checkTraining, planTrainingData, storeEntries, type TrainingPlan, type TrainModelOptions, TrainOptionsError } from './train-plan.ts';

export { TrainOptionsError, type TrainModelOptions } from './train-plan.ts';

/** Checks every option and derives the model; throws TrainOptionsError naming the first bad one. */
export function planTraining(o: TrainModelOptions): TrainingPlan {
  if (o.backend !== undefined && !backendOrder.includes(o.backend)) throw new TrainOptionsError(`backend must be one of ${backendOrder.join(', ')}, not '${o.backend}'`);
  const { problems, plan } = checkTraining(o);
  if (!plan) throw new TrainOptionsError(problems[0]);
  return plan;
}

/** PNGs of one validation crop after an epoch: what the model saw, what it made, what it should have made. */
export interface SamplePaths {
  input: string;
  output: string;
  target: string;
}

export type TrainModelEvent =
  | { type: 'log'; message: string }
  | { type: 'preparing'; done: number; total: number; path: string }
  /** `samples` comes with an epoch event when `samples` was asked for. */
  | { type: 'fit'; event: FitEvent; samples?: SamplePaths[] };

export interface TrainModelResult {
  completed: boolean;
  stoppedBecause?: string;
  /** Stopped by the pause signal: the checkpoint holds the half-done epoch. */
  paused?: boolean;
  /** model.onnx, written only when every stage finished. */
  modelPath?: string;
  checkpointPath: string;
  resumedFromEpoch?: number;
  resumedFromBatch?: number;
  run: TrainRunResult;
}

async function writeSample(path: string, image: SampleImage): Promise<void> {
  const png = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } }).png().toBuffer();
  writeFileAtomic(path, [png]);
}

/**
 * `enhance train` and the app's Train view: prepares the store (resumable) or takes a prepared one,
 * trains or resumes from the run's checkpoint, and writes model.onnx only when every stage finished.
 * Stops after the current batch when `signal` aborts (the last epoch checkpoint stays resumable) or
 * when `pauseSignal` aborts (then the checkpoint is written there, mid-epoch).
 */
export async function trainModel(o: TrainModelOptions, onEvent: (e: TrainModelEvent) => void = () => {}, signal?: AbortSignal, pauseSignal?: AbortSignal):
  Promise<TrainModelResult> {
  const plan = planTraining(o);
  const out = resolve(o.out);
  mkdirSync(out, { recursive: true });
  const sel = await selectBackend(o.backend);
  const workers = o.workers ?? (sel.backend === 'wasm' ? 2 : 0);
  onEvent({ type: 'log', message: sel.line + (workers ? `, ${workers} workers` : '') });
  const storeDir = o.store ? resolve(o.store) : join(out, 'store');
  if (o.data !== undefined) {
    const summary = await importToStore(storeDir, resolve(o.data), {
      maxSidePx: o.maxSidePx ?? 1024, signal, onProgress: (done, total, path) => onEvent({ type: 'preparing', done, total, path }),
    });
    onEvent({ type: 'log', message: `store: ${summary.count} images (${summary.added} new, ${summary.alreadyStored} already stored, ${summary.skipped.length} skipped)` });
    for (const s of summary.skipped) onEvent({ type: 'log', message: `  skipped ${s.path}: ${s.reason}` });
  }
  const dataPlan = planTrainingData(storeEntries(storeDir), o, plan.cropPx, o.data ?? storeDir);
  if (dataPlan.problems.length) throw new TrainOptionsError(dataPlan.problems[0]);
  const store = openImageStore(storeDir);
  try {
    const scale = o.task === 'upscale' ? o.scale! : 1;
    const data = pairSource({
      store, task: o.task, scale: scale as 1 | 2 | 4, batchSize: o.batchSize, cropPx: plan.cropPx, seed: o.seed ?? 0, validationImages: dataPlan.validationImages,
    });
    onEvent({ type: 'log', message: `training on ${data.trainImages} images, validating on ${data.validationImages}; ${data.batchesPerEpoch} steps per epoch` });
    const checkpointPath = join(out, 'checkpoint.ckpt');
    const samplesDir = join(out, 'samples');
    let samples: SamplePaths[] | undefined;
    const run = await trainRun({
      spec: plan.spec, loss: plan.loss, data, stages: o.stages, seed: o.seed ?? 0, backend: sel.backend, workers, checkpointPath,
      initialWeights: plan.baseWeights ?? (plan.encoder ? copyEncoder(plan.encoder, (plan.spec.options as { widths: number[] }).widths) : undefined),
      signal, pauseSignal,
      samples: o.samples ? {
        samples: o.samples,
        // The crops are fixed, so input and target are written once; the output once per epoch.
        async onSamples(crops, l) {
          mkdirSync(samplesDir, { recursive: true });
          samples = await Promise.all(crops.map(async (c, k) => {
            const paths = {
              input: join(samplesDir, `${k + 1}-input.png`), target: join(samplesDir, `${k + 1}-target.png`),
              output: join(samplesDir, `epoch-${l.epochsDone}-${k + 1}-output.png`),
            };
            await Promise.all([
              existsSync(paths.input) ? undefined : writeSample(paths.input, c.input),
              existsSync(paths.target) ? undefined : writeSample(paths.target, c.target),
              writeSample(paths.output, c.output),
            ]);
            return paths;
          }));
        },
      } : undefined,
      onEvent: (event) => {
        onEvent({ type: 'fit', event, ...(event.kind === 'epoch' && samples ? { samples } : {}) });
        if (event.kind === 'epoch') samples = undefined;
      },
    });
    const result: TrainModelResult = {
      completed: run.completed, stoppedBecause: run.stoppedBecause, paused: run.paused, checkpointPath,
      resumedFromEpoch: run.resumedFromEpoch, resumedFromBatch: run.resumedFromBatch, run,
    };
    if (!run.completed) return result;
    result.modelPath = join(out, 'model.onnx');
    writeFileAtomic(result.modelPath, [exportOnnx(buildModel(plan.spec), run.layout.toMap(run.weights), {
      trainingData: `${data.trainImages} photos from ${o.data ? resolve(o.data) : storeDir}`,
      trainingStages: JSON.stringify(o.stages),
      ...(o.baseModel ? { fineTunedFrom: resolve(o.baseModel) } : {}),
    })]);
    return result;
  } finally {
    store.close();
  }
}
