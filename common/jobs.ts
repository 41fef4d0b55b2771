// Jobs as the UI, the CLI and the HTTP stream see them: one event shape with one discriminator
// (`type`), progress as a 0–1 fraction with an ETA, errors as plain `EnhanceError` data.
import type { EnhanceError } from './errors.ts';
import type { ModelDescriptor } from './model-descriptor.ts';

export type JobId = string;
export type JobKind = 'enhance-photo' | 'batch' | 'import-dataset' | 'train';
export type JobStatus = 'running' | 'done' | 'cancelled' | 'failed' | 'paused';

export interface JobProgress {
  /** 0–1 over the whole job. */
  fraction: number;
  /** Seconds left at the current rate; null until there is a rate to go by. */
  etaSeconds: number | null;
  elapsedSeconds: number;
  /** One line for a status bar, e.g. "19/50 photos" or "epoch 2/4 step 7/35". */
  message: string;
  filesDone?: number;
  filesTotal?: number;
  /** Files in flight. */
  current?: string[];
}

/** One file of a batch or an import, as it finishes. */
export interface JobFileEvent {
  input: string;
  output?: string;
  status: 'done' | 'skipped' | 'failed';
  error?: EnhanceError;
}

export interface EnhancePhotoResult {
  input: string;
  /** A lossless PNG in the app's private results folder; `saveResult` writes it where the user says. */
  result: string;
  inputWidthPx: number;
  inputHeightPx: number;
  outputWidthPx: number;
  outputHeightPx: number;
  modelId: string;
  provider: string;
  seconds: number;
}

export interface BatchResult {
  total: number;
  enhanced: number;
  skipped: number;
  failed: { input: string; error: EnhanceError }[];
  cancelled: boolean;
  inputMegapixels: number;
  seconds: number;
}

/** Per kind, what a finished job hands back. */
export interface JobResults {
  'enhance-photo': EnhancePhotoResult;
  batch: BatchResult;
  'import-dataset': { datasetId: string; count: number; skipped: { path: string; reason: string }[] };
  train: { runId: string; epochsDone: number; modelId?: string };
}

/** Training telemetry (part 2 of the app): one point per step, validation per epoch. */
export interface TrainPoint {
  step: number;
  stepsTotal: number;
  epoch: number;
  stage: number;
  loss: number;
  lr: number;
  imgPerSec: number;
  validation?: { loss: number; psnr: number; ssim?: number };
  /** Validation samples after an epoch: paths of input | output | target PNGs. */
  samples?: { input: string; output: string; target: string }[];
}

export type JobEvent =
  | { type: 'started'; jobId: JobId; kind: JobKind; title: string }
  | { type: 'progress'; jobId: JobId; progress: JobProgress }
  | { type: 'file'; jobId: JobId; file: JobFileEvent }
  | { type: 'train'; jobId: JobId; point: TrainPoint }
  | { type: 'log'; jobId: JobId; message: string }
  | { type: 'finished'; jobId: JobId; status: Exclude<JobStatus, 'running'>; result?: JobResults[JobKind]; error?: EnhanceError };

export interface JobInfo {
  jobId: JobId;
  kind: JobKind;
  title: string;
  status: JobStatus;
  progress?: JobProgress;
  startedAt: number;
  result?: JobResults[JobKind];
  error?: EnhanceError;
}

/** A model as the Models view lists it: shipped or imported, read from its descriptor, never its file name. */
export interface ModelInfo {
  id: string;
  name: string;
  source: 'shipped' | 'user';
  descriptor: ModelDescriptor;
  bytes: number;
  trained: boolean;
  /** What it was trained on, when the model says. */
  trainedOn?: string;
  notes?: string;
  metrics?: { dataset: string; psnr: number; ssim?: number; baseline: string; baselinePsnr: number }[];
  /** For a foreign model: what the probe found or had to assume (e.g. "0–1 RGB NCHW assumed"). */
  assumptions?: string[];
}
