// Jobs as the UI, the CLI and the HTTP stream see them: one event shape with one discriminator
// (`type`), progress as a 0–1 fraction with an ETA, errors as plain `EnhanceError` data.
import type { EnhanceError } from './errors.ts';
import type { ModelDescriptor } from './model-descriptor.ts';
import type { QualityMetric } from './model-manifest.ts';

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
  /** The ONNX Runtime execution provider that ran the model, e.g. 'cpu' or 'webgpu'. */
  provider: string;
}

/** Per kind, what a finished job hands back. */
export interface JobResults {
  'enhance-photo': EnhancePhotoResult;
  batch: BatchResult;
  'import-dataset': {
    datasetId: string;
    count: number;
    skipped: { path: string; reason: string }[];
    /** Decoded by this import; the rest were already in the store (a resumed import). */
    added?: number;
    alreadyStored?: number;
    /** Stopped by cancelJob: the dataset is 'incomplete' and importing the folder again resumes it. */
    cancelled?: boolean;
  };
  train: {
    runId: string;
    epochsDone: number;
    modelId?: string;
    /** How the run stands now: 'paused' and 'stopped' runs resume from their checkpoint. */
    status?: RunStatus;
    stepsDone?: number;
    /** Paused or cancelled (the job then shows as 'cancelled'; the run's status says which). */
    cancelled?: boolean;
    /** Why a 'failed' run stopped, e.g. the non-finite-loss guard's message with a hint. */
    error?: string;
  };
}

/**
 * Training telemetry: one point per step, and one more after each epoch carrying `validation` (and
 * `samples`), with that epoch's mean training loss and the step of its last batch.
 */
export interface TrainPoint {
  /** Steps done in the whole run, 1-based (continues across pause and resume). */
  step: number;
  stepsTotal: number;
  /** The epoch the step belongs to, 1-based. */
  epoch: number;
  /** Index into the run's stages, 0-based. */
  stage: number;
  loss: number;
  lr: number;
  imgPerSec: number;
  /** psnr: Y-PSNR in dB (RGB PSNR for colorize), ssim: Y-SSIM, over the validation crops. */
  validation?: { loss: number; psnr: number; ssim?: number };
  /** Validation samples after an epoch: paths of input | output | target PNGs. */
  samples?: { input: string; output: string; target: string }[];
}

export type DatasetStatus = 'importing' | 'ready' | 'incomplete';

/** A prepared dataset as the Datasets view lists it; its photos stay where they are. */
export interface DatasetInfo {
  id: string;
  name: string;
  /** The folder it was imported from. */
  folder: string;
  layout: 'photos' | 'labelled';
  /** Photos in its store (the last import's count while one is running). */
  count: number;
  /** Files the last finished import could not use, with the reason. */
  skipped: { path: string; reason: string }[];
  status: DatasetStatus;
  /** Labelled layouts: the classes, in label order. */
  classes?: { id: string; name: string }[];
  createdAt: number;
  /** Set while importing. */
  jobId?: string;
  /** Why the last import failed or found nothing usable. */
  error?: string;
}

export interface DatasetThumbnail {
  /** Position in the dataset, 0-based. */
  index: number;
  /** A JPEG of at most 96 px a side, readable like any other file the app shows. */
  path: string;
  /** The stored image's size (photos are stored at most 1024 px a side). */
  widthPx: number;
  heightPx: number;
  /** The photo it came from. */
  source: string;
}

/** `validateTrainingPlan`: every problem found, and what the plan will do when there is none. */
export interface TrainingPlanCheck {
  ok: boolean;
  errors: string[];
  stepsPerEpoch: number;
  totalSteps: number;
  trainImages: number;
  validationImages: number;
}

export type RunStatus = 'running' | 'paused' | 'stopped' | 'failed' | 'done';

/** One fine-tuning run: its plan, where it stands and its whole telemetry (so a reopened app redraws the chart). */
export interface RunInfo {
  runId: string;
  name: string;
  task: 'upscale' | 'decrappify' | 'colorize';
  scale?: 2 | 4;
  datasetId: string;
  datasetName: string;
  /** The model fine-tuning started from; absent: trained from scratch. */
  baseModelId?: string;
  stages: { epochs: number; lr: number; freeze?: string[] }[];
  loss: 'mse' | 'l1' | 'perceptual';
  lambda?: number;
  batchSize: number;
  cropPx: number;
  seed: number;
  status: RunStatus;
  /** While running: the job to pause or cancel. */
  jobId?: string;
  epochsDone: number;
  epochsTotal: number;
  stepsDone: number;
  stepsPerEpoch: number;
  stepsTotal: number;
  trainImages: number;
  validationImages: number;
  /** A checkpoint exists: the run can resume, or be exported. */
  resumable: boolean;
  history: TrainPoint[];
  /** The trainer's log lines (the first is the backend report), most recent last. */
  log: string[];
  lastError?: string;
  /** Models exported from this run into the library. */
  exports: { modelId: string; name: string; epochsDone: number; stepsDone: number; at: number }[];
  createdAt: number;
  updatedAt: number;
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
  metrics?: QualityMetric[];
  /** For a foreign model: what the probe found or had to assume (e.g. "0–1 RGB NCHW assumed"). */
  assumptions?: string[];
}
