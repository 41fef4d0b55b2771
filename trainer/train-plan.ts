// Everything a training plan is checked against before any work, in a module light enough for the
// app's main process (no TF.js, no sharp): options, the model they describe, the data split and steps.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { EnhanceErrorCode } from '../common/errors.ts';
import type { Stage } from '../common/model-manifest.ts';
import type { Task } from '../common/model-descriptor.ts';
import type { BackendChoice } from './backends/select-backend.ts';
import { readOnnxWeights } from './export/onnx-weights.ts';
import { buildModel, type ModelSpec } from './models/build-model.ts';
import { paramGroup } from './models/model.ts';
import type { UNetOptions } from './models/unet.ts';
import type { LossSpec } from './losses/losses.ts';

export interface TrainModelOptions {
  task: Task;
  /** Upscale only. */
  scale?: 2 | 4;
  /** Folder of photos (searched recursively), prepared into `<out>/store`. Give this or `store`. */
  data?: string;
  /** A prepared image store (trainer/data/image-store.ts) to train on as it is, e.g. an app dataset. */
  store?: string;
  /** Run folder: store (unless `store` is given), checkpoint.ckpt, samples/, model.onnx. */
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
  /** Fixed validation crops written as PNGs into `<out>/samples` after every epoch (default 0). */
  samples?: number;
}

/** A problem with the options, found before any work: the CLI answers exit 2, the app a usage error. */
export class TrainOptionsError extends Error {
  readonly code: EnhanceErrorCode = 'usage';
}

export interface TrainingPlan {
  spec: ModelSpec;
  loss: LossSpec;
  cropPx: number;
  /** Fine-tuning: every parameter, from the base model. */
  baseWeights?: Map<string, Float32Array>;
  /** A classifier checkpoint whose encoder initialises the down path. */
  encoder?: string;
}

/** Every problem with the options (in the order the CLI reports them) and, when there is none, the plan. The backend is checked by planTraining. */
export function checkTraining(o: TrainModelOptions): { problems: string[]; plan?: TrainingPlan } {
  const problems: string[] = [];
  const fail = (message: string) => void problems.push(message);
  if (!['upscale', 'decrappify', 'colorize'].includes(o.task)) fail(`task must be upscale, decrappify or colorize, not '${o.task}'`);
  if (o.task === 'upscale' && o.scale !== 2 && o.scale !== 4) fail(`scale must be 2 or 4, not '${o.scale}'`);
  if ((o.data === undefined) === (o.store === undefined)) fail('give a folder of photos or a prepared store, not both or neither');
  else if (o.data !== undefined) {
    if (!existsSync(o.data)) fail(`${o.data}: no such folder`);
    else if (!statSync(o.data).isDirectory()) fail(`${o.data}: is a file; give a folder of photos`);
  } else if (!existsSync(join(o.store!, 'index.json'))) fail(`${o.store}: not a prepared image store`);
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1 || o.batchSize > 1024) fail(`batch size must be a whole number from 1 to 1024, not '${o.batchSize}'`);
  if (o.stages.length === 0) fail('give at least one stage');
  for (const [i, s] of o.stages.entries()) {
    if (!Number.isInteger(s.epochs) || s.epochs < 1 || s.epochs > 10_000) fail(`stage ${i + 1}: epochs must be a whole number from 1 to 10000, not '${s.epochs}'`);
    if (!(s.lr > 0 && s.lr <= 1)) fail(`stage ${i + 1}: learning rate must be above 0 and at most 1, not '${s.lr}'`);
  }
  if (o.workers !== undefined && (!Number.isInteger(o.workers) || o.workers < 0 || o.workers > 64)) fail(`workers must be a whole number from 0 to 64, not '${o.workers}'`);
  if (!['mse', 'l1', 'perceptual'].includes(o.loss)) fail(`loss must be mse, l1 or perceptual, not '${o.loss}'`);
  if (o.loss === 'perceptual' && !o.encoder) fail('the perceptual loss needs an encoder (a classifier checkpoint from enhance pretrain)');
  if (o.lambda !== undefined && !(o.lambda >= 0 && o.lambda <= 1000)) fail(`lambda must be from 0 to 1000, not '${o.lambda}'`);
  if (o.maxSidePx !== undefined && (!Number.isInteger(o.maxSidePx) || o.maxSidePx < 16 || o.maxSidePx > 16384)) fail(`max side must be a whole number from 16 to 16384, not '${o.maxSidePx}'`);
  if (o.samples !== undefined && (!Number.isInteger(o.samples) || o.samples < 0 || o.samples > 16)) fail(`samples must be a whole number from 0 to 16, not '${o.samples}'`);

  const scale = o.task === 'upscale' ? o.scale! : 1;
  let spec: ModelSpec | undefined;
  let fromBase: Map<string, Float32Array> | undefined;
  if (o.baseModel) {
    try {
      const read = readOnnxWeights(readFileSync(o.baseModel));
      const opts = read.spec.options as UNetOptions;
      if (read.spec.kind !== 'unet' || opts.task !== o.task || (o.task === 'upscale' && opts.scale !== scale)) {
        fail(`${o.baseModel}: the base model does ${opts.task}${opts.task === 'upscale' ? ` ×${opts.scale}` : ''}, not ${o.task}${o.task === 'upscale' ? ` ×${scale}` : ''}`);
      } else {
        spec = read.spec;
        fromBase = read.weights;
      }
    } catch (e) {
      fail(`${o.baseModel}: ${(e as Error).message}`);
    }
  } else {
    const widths = o.widths ?? [32, 64, 128, 256];
    if (widths.length < 2 || widths.length > 6 || widths.some((w) => !Number.isInteger(w) || w < 1 || w > 1024)) fail(`widths must be 2 to 6 whole numbers from 1 to 1024, not '${widths.join(',')}'`);
    else if (['upscale', 'decrappify', 'colorize'].includes(o.task) && (o.task !== 'upscale' || scale === 2 || scale === 4)) {
      spec = { kind: 'unet', options: { task: o.task, scale, widths, crossConnections: o.crossConnections ?? false } };
    }
  }
  if (!spec) return { problems };
  const widths = (spec.options as UNetOptions).widths;
  const groups = modelGroups(spec).map((g) => g.name);
  for (const [i, s] of o.stages.entries()) {
    for (const g of s.freeze ?? []) if (!groups.includes(g)) fail(`stage ${i + 1} freezes '${g}', which the model does not have (its groups: ${groups.join(', ')})`);
    if (s.freeze && groups.every((g) => s.freeze!.includes(g))) fail(`stage ${i + 1} freezes every layer group: nothing would train`);
  }
  const multiple = 2 ** (widths.length - 1) * scale;
  const cropPx = o.cropPx ?? 64 * scale;
  if (!Number.isInteger(cropPx) || cropPx < multiple || cropPx > 2048 || cropPx % multiple) fail(`crop must be a multiple of ${multiple} px from ${multiple} to 2048, not '${o.cropPx}'`);
  if (problems.length) return { problems };
  const loss: LossSpec = o.loss === 'perceptual' ? { kind: 'perceptual', classifierPath: resolve(o.encoder!), lambda: o.lambda ?? 0.1 } : { kind: o.loss };
  return { problems, plan: { spec, loss, cropPx, baseWeights: fromBase, ...(o.encoder && !fromBase ? { encoder: resolve(o.encoder) } : {}) } };
}

/** The layer groups a stage can freeze (the first part of each parameter name), with their parameter counts. */
export function modelGroups(spec: ModelSpec): { name: string; parameters: number }[] {
  const counts = new Map<string, number>();
  for (const p of buildModel(spec).params) counts.set(paramGroup(p.name), (counts.get(paramGroup(p.name)) ?? 0) + p.shape.reduce((a, b) => a * b, 1));
  return [...counts].map(([name, parameters]) => ({ name, parameters }));
}

/**
 * Size and source of every image in a prepared store, from its index alone (no pixels read), so a plan
 * over 10,000 photos is checked in milliseconds. The index format is image-store.ts's.
 */
export function storeEntries(storeDir: string): { offset: number; width: number; height: number; source: string }[] {
  const path = join(storeDir, 'index.json');
  if (!existsSync(path)) return [];
  return (JSON.parse(readFileSync(path, 'utf8')) as { entries: { offset: number; width: number; height: number; source: string }[] }).entries;
}

export interface TrainingDataPlan {
  problems: string[];
  trainImages: number;
  validationImages: number;
  stepsPerEpoch: number;
  totalSteps: number;
}

/** Images held out for validation: one in ten, at least 1 and at most 8 (fixed crops, the same every epoch). */
const validationCount = (count: number) => (count < 2 ? 0 : Math.max(1, Math.min(8, Math.floor(count / 10))));

/** The split and step counts training will use on images of these sizes, and what makes them unusable. */
export function planTrainingData(sizes: readonly { width: number; height: number }[], o: Pick<TrainModelOptions, 'batchSize' | 'stages'>, cropPx: number, name: string):
  TrainingDataPlan {
  const problems: string[] = [];
  const count = sizes.length;
  if (count < 2) problems.push(`${name}: ${count} usable photo${count === 1 ? '' : 's'}; training needs at least 2 (one is held out for validation)`);
  else if (sizes.every((s) => s.width < cropPx || s.height < cropPx)) problems.push(`every photo is smaller than the ${cropPx} px crop; choose a smaller crop`);
  const validationImages = validationCount(count);
  const trainImages = count - validationImages;
  const stepsPerEpoch = trainImages ? Math.max(1, Math.floor(trainImages / Math.max(1, o.batchSize))) : 0;
  return { problems, trainImages, validationImages, stepsPerEpoch, totalSteps: stepsPerEpoch * o.stages.reduce((a, s) => a + s.epochs, 0) };
}
