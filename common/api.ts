// The app's API, written once: every method's argument schema (checked at runtime by the main
// process and the browser-mode server) and result type, and every event. The IPC table, the
// preload bridge, the HTTP routes and the renderer's client are all typed from these maps, so a
// wrong method name or payload fails `tsc` at both ends.
import { z } from 'zod';
import type { DatasetInfo, DatasetThumbnail, JobEvent, JobId, JobInfo, ModelInfo, RunInfo, TrainingPlanCheck } from './jobs.ts';
import type { EnhanceError } from './errors.ts';
import { apiMethodNames, type ApiMethodNameList } from './api-method-names.ts';

/** A result type carried only at the type level. */
declare const resultType: unique symbol;
type Returns<T> = { readonly [resultType]?: T };
const returns = <T>(): Returns<T> => ({});

const method = <A extends z.ZodType, R>(args: A, result: Returns<R>) => ({ args, result });

const path = z.string().min(1).max(4096).refine((p) => !p.includes('\0'), 'a path may not contain NUL');
const task = z.enum(['upscale', 'decrappify', 'colorize']);
const scale = z.union([z.literal(2), z.literal(4)], { error: 'must be 2 or 4' });
export const outputFormats = ['same', 'png', 'jpeg', 'webp', 'avif', 'tiff'] as const;
const format = z.enum(outputFormats);
const quality = z.number().int().min(1).max(100);
const tileSizePx = z.number().int().min(64).max(4096);
const id = z.string().min(1).max(200).regex(/^[\w.-]+$/, 'an id is letters, digits, dot, dash or underscore');
const name = z.string().trim().min(1).max(120);

// Bounds wide enough for any real plan; planTraining's checks give the friendly messages inside them.
const stage = z.strictObject({
  epochs: z.number().int().min(1).max(10_000),
  lr: z.number().min(0).max(10),
  freeze: z.array(z.string().min(1).max(64).regex(/^[\w-]+$/, 'a layer group name')).max(16).optional(),
});
const trainingPlan = {
  datasetId: id,
  task,
  scale: scale.optional(),
  /** A shipped or user model to fine-tune; absent: train the default U-Net from scratch. */
  baseModelId: id.optional(),
  stages: z.array(stage).min(1).max(32),
  loss: z.enum(['mse', 'l1', 'perceptual']),
  lambda: z.number().min(0).max(1000).optional(),
  /** The perceptual loss's classifier checkpoint (from `enhance pretrain`). */
  encoderPath: path.optional(),
  batchSize: z.number().int().min(1).max(1024),
  cropPx: z.number().int().min(1).max(2048).optional(),
  seed: z.number().int().min(0).max(2 ** 31 - 1).optional(),
};

export interface AppInfo {
  version: string;
  mode: 'electron' | 'browser';
  /** Browser mode: the folders named with `enhance serve --root`, which is all it may read or write. */
  roots: string[];
  /** Browser mode: where uploaded photos land (inside the app's data folder). */
  uploadsDir?: string;
  /** Electron: native open/save dialogs exist. */
  nativeDialogs: boolean;
  /** The inference device ONNX Runtime uses, e.g. "cpu". */
  device: string;
}

export interface BrowseEntry {
  name: string;
  path: string;
  kind: 'folder' | 'image' | 'file';
  bytes?: number;
}

export interface BrowseResult {
  /** null: the list of roots. */
  dir: string | null;
  parent: string | null;
  entries: BrowseEntry[];
}

export interface ImageInfo {
  path: string;
  widthPx: number;
  heightPx: number;
  format: string;
  bytes: number;
}

export const apiMethods = {
  appInfo: method(z.strictObject({}), returns<AppInfo>()),
  /** Electron only: a native dialog; what the user picks becomes readable (and, for folders and save targets, writable). */
  pickPaths: method(z.strictObject({
    kind: z.enum(['photo', 'folder', 'save', 'model']),
    defaultName: z.string().max(255).optional(),
  }), returns<string[]>()),
  /** Lists a folder inside the chosen folders (browser mode: the roots); no `dir`: the roots themselves. */
  browse: method(z.strictObject({ dir: path.optional() }), returns<BrowseResult>()),
  /** Browser mode: a single photo sent by the page, stored in the uploads folder. */
  uploadPhoto: method(z.strictObject({
    name: z.string().min(1).max(255).regex(/^[^/\\\0]+$/, 'a file name, not a path'),
    base64: z.string().min(1).max(200_000_000),
  }), returns<{ path: string }>()),
  imageInfo: method(z.strictObject({ path }), returns<ImageInfo>()),

  enhancePhoto: method(z.strictObject({
    input: path, task, scale: scale.optional(), modelId: id.optional(), tileSizePx: tileSizePx.optional(), selfEnsemble: z.boolean().optional(),
  }), returns<{ jobId: JobId }>()),
  /** Writes an `enhancePhoto` result to a new file; never over its input, and over another file only with `overwrite`. */
  saveResult: method(z.strictObject({
    result: path, output: path, format, quality: quality.optional(), overwrite: z.boolean().optional(),
  }), returns<{ path: string; bytes: number }>()),
  startBatch: method(z.strictObject({
    input: path, output: path, task, scale: scale.optional(), modelId: id.optional(), format,
    quality: quality.optional(), recursive: z.boolean(), tileSizePx: tileSizePx.optional(), selfEnsemble: z.boolean().optional(),
  }), returns<{ jobId: JobId }>()),
  cancelJob: method(z.strictObject({ jobId: id }), returns<{ cancelled: boolean }>()),
  listJobs: method(z.strictObject({}), returns<JobInfo[]>()),

  listModels: method(z.strictObject({}), returns<ModelInfo[]>()),
  /** Copies an .onnx into the user's model library: Enhance models by their metadata, others probed. */
  importModel: method(z.strictObject({ path, name: name.optional() }), returns<ModelInfo>()),
  renameModel: method(z.strictObject({ id, name }), returns<ModelInfo>()),
  deleteModel: method(z.strictObject({ id }), returns<{ deleted: boolean }>()),

  /**
   * Prepares a folder (recursive) as a dataset in an `import-dataset` job. The same folder again
   * continues its dataset (a cancelled import resumes; new photos are added) under the same id.
   */
  importDataset: method(z.strictObject({ folder: path, name: name.optional(), layout: z.enum(['photos', 'labelled']).optional() }),
    returns<{ jobId: JobId; datasetId: string }>()),
  listDatasets: method(z.strictObject({}), returns<DatasetInfo[]>()),
  /** A page of thumbnails (made on first request), for a virtualised grid. */
  datasetThumbnails: method(z.strictObject({ id, offset: z.number().int().min(0).max(10_000_000), limit: z.number().int().min(1).max(200) }),
    returns<{ total: number; items: DatasetThumbnail[] }>()),
  /** Removes the dataset's store and thumbnails; the photos it was imported from are never touched. */
  deleteDataset: method(z.strictObject({ id }), returns<{ deleted: boolean }>()),

  /** The layer groups a stage can freeze, from the model's parameters. */
  trainingGroups: method(z.strictObject({ modelId: id }), returns<{ groups: { name: string; parameters: number }[] }>()),
  /** Checks a plan as the user types: every problem, and the split and step counts it would use. */
  validateTrainingPlan: method(z.strictObject(trainingPlan), returns<TrainingPlanCheck>()),
  /** Starts a `train` job; its `train` events carry a TrainPoint per step and validation plus samples per epoch. */
  startTraining: method(z.strictObject({ ...trainingPlan, name: name.optional() }), returns<{ jobId: JobId; runId: string }>()),
  /** Stops a training job after its current batch and checkpoints there, mid-epoch. */
  pauseTraining: method(z.strictObject({ jobId: id }), returns<{ pausing: boolean }>()),
  /** Continues a paused, stopped or interrupted run from its checkpoint in a new job. */
  resumeTraining: method(z.strictObject({ runId: id }), returns<{ jobId: JobId; runId: string }>()),
  listRuns: method(z.strictObject({}), returns<RunInfo[]>()),
  /** Writes the run's checkpoint as an ONNX model (training described in its metadata) into the user library. */
  exportRun: method(z.strictObject({ runId: id, name: name.optional() }), returns<ModelInfo>()),
  /** Removes a run's folder (checkpoint, samples, telemetry); models exported from it stay in the library. */
  deleteRun: method(z.strictObject({ runId: id }), returns<{ deleted: boolean }>()),
} as const satisfies Record<ApiMethodNameList, { args: z.ZodType; result: unknown }>;

export type ApiMethods = typeof apiMethods;
export type ApiMethodName = keyof ApiMethods;
export type ApiArgs<M extends ApiMethodName> = z.input<ApiMethods[M]['args']>;
/** Arguments after validation (defaults applied, strings trimmed). */
export type ApiParsedArgs<M extends ApiMethodName> = z.output<ApiMethods[M]['args']>;
export type ApiResult<M extends ApiMethodName> = ApiMethods[M]['result'] extends Returns<infer R> ? R : never;
export { apiMethodNames };

export interface ApiEvents {
  job: JobEvent;
}
export type ApiEventName = keyof ApiEvents;

/** The API as an object of async functions: what the preload exposes and the renderer calls. */
export type Api = { [M in ApiMethodName]: (args: ApiArgs<M>) => Promise<ApiResult<M>> };

/** How a call's outcome crosses IPC and HTTP: thrown errors would lose their code on the way. */
export type ApiReply<M extends ApiMethodName> = { ok: true; value: ApiResult<M> } | { ok: false; error: EnhanceError };

export function isApiMethodName(name: unknown): name is ApiMethodName {
  return typeof name === 'string' && Object.hasOwn(apiMethods, name);
}
