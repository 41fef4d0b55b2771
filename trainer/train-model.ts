import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { EnhanceErrorCode } from '../common/errors.ts';
import type { Stage } from '../common/model-manifest.ts';
import type { Task } from '../common/model-descriptor.ts';
import { backendOrder, type BackendChoice, selectBackend } from './backends/select-backend.ts';
import { importToStore, openImageStore } from './data/image-store.ts';
import { pairSource } from './data/pair-source.ts';
import { exportOnnx } from './export/onnx-export.ts';
import { readOnnxWeights } from './export/onnx-weights.ts';
import type { FitEvent } from './fit/callbacks.ts';
import { trainRun, type TrainRunResult } from './fit/train-run.ts';
import { buildModel, type ModelSpec } from './models/build-model.ts';
import type { UNetOptions } from './models/unet.ts';
import { writeFileAtomic } from './atomic-write.ts';
import type { LossSpec } from './losses/losses.ts';
import { copyEncoder } from './pretrain/pretrain-classifier.ts';

export interface TrainModelOptions {
  task: Task;
  /** Upscale only. */
  scale?: 2 | 4;
  /** Folder of photos (searched recursively). */
  data: string;
  /** Run folder: store, checkpoint.ckpt, model.onnx. */
  out: string;
  stages: Stage[];
  batchSize: number;
  cropPx?: number;
  widths?: number[];
  crossConnections?: boolean;
  /** Classifier checkpoint whose encoder initialises the down path. */
  encoder?: string;
  /** An Enhance .onnx to fine-tune: its architecture and weights are the starting point. */
  baseModel?: string;
  loss: 'mse' | 'l1' | 'perceptual';
  lambda?: number;
  maxSidePx?: number;
  backend?: BackendChoice;
  /** Worker threads on CPU backends; default 2 on wasm, else 0. */
  workers?: number;
  seed?: number;
}

export type TrainModelEvent =
  | { type: 'log'; message: string }
  | { type: 'preparing'; done: number; total: number; path: string }
  | { type: 'fit'; event: FitEvent };

export interface TrainModelResult {
  completed: boolean;
  stoppedBecause?: string;
  /** model.onnx, written only when every stage finished. */
  modelPath?: string;
  checkpointPath: string;
  resumedFromEpoch?: number;
  run: TrainRunResult;
}

/** A problem with the options, found before any work: the CLI answers exit 2, the app a usage error. */
export class TrainOptionsError extends Error {
  readonly code: EnhanceErrorCode = 'usage';
}

const fail = (message: string): never => {
  throw new TrainOptionsError(message);
};

/** Checks every option and derives the model; throws TrainOptionsError naming the first bad one. */
export function planTraining(o: TrainModelOptions): { spec: ModelSpec; loss: LossSpec; cropPx: number; initialWeights?: () => Map<string, Float32Array> } {
  if (!['upscale', 'decrappify', 'colorize'].includes(o.task)) fail(`task must be upscale, decrappify or colorize, not '${o.task}'`);
  if (o.task === 'upscale' && o.scale !== 2 && o.scale !== 4) fail(`scale must be 2 or 4, not '${o.scale}'`);
  if (!existsSync(o.data)) fail(`${o.data}: no such folder`);
  if (!statSync(o.data).isDirectory()) fail(`${o.data}: is a file; give a folder of photos`);
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1 || o.batchSize > 1024) fail(`batch size must be a whole number from 1 to 1024, not '${o.batchSize}'`);
  if (o.stages.length === 0) fail('give at least one stage');
  for (const [i, s] of o.stages.entries()) {
    if (!Number.isInteger(s.epochs) || s.epochs < 1 || s.epochs > 10_000) fail(`stage ${i + 1}: epochs must be a whole number from 1 to 10000, not '${s.epochs}'`);
    if (!(s.lr > 0 && s.lr <= 1)) fail(`stage ${i + 1}: learning rate must be above 0 and at most 1, not '${s.lr}'`);
  }
  if (o.workers !== undefined && (!Number.isInteger(o.workers) || o.workers < 0 || o.workers > 64)) fail(`workers must be a whole number from 0 to 64, not '${o.workers}'`);
  if (o.backend !== undefined && !backendOrder.includes(o.backend)) fail(`backend must be one of ${backendOrder.join(', ')}, not '${o.backend}'`);
  if (!['mse', 'l1', 'perceptual'].includes(o.loss)) fail(`loss must be mse, l1 or perceptual, not '${o.loss}'`);
  if (o.loss === 'perceptual' && !o.encoder) fail('the perceptual loss needs an encoder (a classifier checkpoint from enhance pretrain)');
  if (o.lambda !== undefined && !(o.lambda >= 0 && o.lambda <= 1000)) fail(`lambda must be from 0 to 1000, not '${o.lambda}'`);
  if (o.maxSidePx !== undefined && (!Number.isInteger(o.maxSidePx) || o.maxSidePx < 16 || o.maxSidePx > 16384)) fail(`max side must be a whole number from 16 to 16384, not '${o.maxSidePx}'`);

  const scale = o.task === 'upscale' ? o.scale! : 1;
  let spec: ModelSpec;
  let fromBase: Map<string, Float32Array> | undefined;
  if (o.baseModel) {
    let read;
    try {
      read = readOnnxWeights(readFileSync(o.baseModel));
    } catch (e) {
      fail(`${o.baseModel}: ${(e as Error).message}`);
    }
    const opts = read!.spec.options as UNetOptions;
    if (read!.spec.kind !== 'unet' || opts.task !== o.task || (o.task === 'upscale' && opts.scale !== scale)) {
      fail(`${o.baseModel}: the base model does ${opts.task}${opts.task === 'upscale' ? ` ×${opts.scale}` : ''}, not ${o.task}${o.task === 'upscale' ? ` ×${scale}` : ''}`);
    }
    spec = read!.spec;
    fromBase = read!.weights;
  } else {
    const widths = o.widths ?? [32, 64, 128, 256];
    if (widths.length < 2 || widths.length > 6 || widths.some((w) => !Number.isInteger(w) || w < 1 || w > 1024)) fail(`widths must be 2 to 6 whole numbers from 1 to 1024, not '${widths.join(',')}'`);
    spec = { kind: 'unet', options: { task: o.task, scale, widths, crossConnections: o.crossConnections ?? false } };
  }
  const widths = (spec.options as UNetOptions).widths;
  const groups = new Set(buildModel(spec).params.map((p) => p.name.split('/')[0]));
  for (const [i, s] of o.stages.entries()) {
    for (const g of s.freeze ?? []) if (!groups.has(g)) fail(`stage ${i + 1} freezes '${g}', which the model does not have (its groups: ${[...groups].join(', ')})`);
    if (s.freeze && [...groups].every((g) => s.freeze!.includes(g))) fail(`stage ${i + 1} freezes every layer group: nothing would train`);
  }
  const multiple = 2 ** (widths.length - 1) * scale;
  const cropPx = o.cropPx ?? 64 * scale;
  if (!Number.isInteger(cropPx) || cropPx < multiple || cropPx > 2048 || cropPx % multiple) fail(`crop must be a multiple of ${multiple} px from ${multiple} to 2048, not '${o.cropPx}'`);
  const loss: LossSpec = o.loss === 'perceptual' ? { kind: 'perceptual', classifierPath: resolve(o.encoder!), lambda: o.lambda ?? 0.1 } : { kind: o.loss };
  const initialWeights = fromBase ? () => fromBase : o.encoder ? () => copyEncoder(resolve(o.encoder!), widths) : undefined;
  return { spec, loss, cropPx, initialWeights };
}

/**
 * `enhance train` and the app's Train view: prepares the store (resumable), trains or resumes from
 * the run's checkpoint, and writes model.onnx only when every stage finished. Stops after the
 * current batch when `signal` aborts; the last epoch checkpoint stays resumable.
 */
export async function trainModel(o: TrainModelOptions, onEvent: (e: TrainModelEvent) => void = () => {}, signal?: AbortSignal): Promise<TrainModelResult> {
  const plan = planTraining(o);
  const out = resolve(o.out);
  mkdirSync(out, { recursive: true });
  const sel = await selectBackend(o.backend);
  const workers = o.workers ?? (sel.backend === 'wasm' ? 2 : 0);
  onEvent({ type: 'log', message: sel.line + (workers ? `, ${workers} workers` : '') });
  const storeDir = join(out, 'store');
  const summary = await importToStore(storeDir, resolve(o.data), {
    maxSidePx: o.maxSidePx ?? 1024, signal, onProgress: (done, total, path) => onEvent({ type: 'preparing', done, total, path }),
  });
  onEvent({ type: 'log', message: `store: ${summary.count} images (${summary.added} new, ${summary.alreadyStored} already stored, ${summary.skipped.length} skipped)` });
  for (const s of summary.skipped) onEvent({ type: 'log', message: `  skipped ${s.path}: ${s.reason}` });
  if (summary.count < 2) fail(`${o.data}: ${summary.count} usable photo${summary.count === 1 ? '' : 's'}; training needs at least 2 (one is held out for validation)`);
  const store = openImageStore(storeDir);
  try {
    const scale = o.task === 'upscale' ? o.scale! : 1;
    const small = store.count && Array.from({ length: store.count }, (_, i) => store.get(i)).filter((im) => im.width < plan.cropPx || im.height < plan.cropPx).length;
    if (small === store.count) fail(`every photo is smaller than the ${plan.cropPx} px crop; choose a smaller crop`);
    const data = pairSource({ store, task: o.task, scale: scale as 1 | 2 | 4, batchSize: o.batchSize, cropPx: plan.cropPx, seed: o.seed ?? 0 });
    onEvent({ type: 'log', message: `training on ${data.trainImages} images, validating on ${data.validationImages}; ${data.batchesPerEpoch} steps per epoch` });
    const checkpointPath = join(out, 'checkpoint.ckpt');
    const run = await trainRun({
      spec: plan.spec, loss: plan.loss, data, stages: o.stages, seed: o.seed ?? 0, backend: sel.backend, workers, checkpointPath,
      initialWeights: plan.initialWeights?.(), signal, onEvent: (event) => onEvent({ type: 'fit', event }),
    });
    const result: TrainModelResult = { completed: run.completed, stoppedBecause: run.stoppedBecause, checkpointPath, resumedFromEpoch: run.resumedFromEpoch, run };
    if (!run.completed) return result;
    result.modelPath = join(out, 'model.onnx');
    writeFileAtomic(result.modelPath, [exportOnnx(buildModel(plan.spec), run.layout.toMap(run.weights), {
      trainingData: `${data.trainImages} photos from ${resolve(o.data)}`,
      trainingStages: JSON.stringify(o.stages),
      ...(o.baseModel ? { fineTunedFrom: resolve(o.baseModel) } : {}),
    })]);
    return result;
  } finally {
    store.close();
  }
}
