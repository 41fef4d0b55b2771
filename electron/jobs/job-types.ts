import type { JobEvent, JobKind, JobResults } from '../../common/jobs.ts';
import type { OutputFormat } from '../engine/image-io.ts';
import type { ProviderChoice } from '../engine/model-session.ts';
import type { ModelDescriptor, Task } from '../../common/model-descriptor.ts';
import type { Stage } from '../../common/model-manifest.ts';

/** Which model a job runs: a file (user library or --model) or the installed default for the task. */
export interface ModelRef {
  /** Shown in results; 'default' for the installed model. */
  modelId: string;
  modelPath?: string;
  modelsDir?: string;
  descriptor?: ModelDescriptor;
}

export interface BatchJobOptions extends ModelRef {
  input: string;
  output: string;
  task: Task;
  scale?: 2 | 4;
  format: OutputFormat | 'same';
  quality?: number;
  recursive: boolean;
  tileSizePx?: number;
  /** Average over 8 rotations and mirrors of every tile: 8× the time. */
  selfEnsemble?: boolean;
  pixelLimit?: number;
  /** Photos in flight at once. */
  jobs?: number;
  threads?: number;
  providers?: ProviderChoice;
}

export interface EnhancePhotoJobOptions extends ModelRef {
  input: string;
  task: Task;
  scale?: 2 | 4;
  tileSizePx?: number;
  selfEnsemble?: boolean;
  /** The private folder the lossless result goes into. */
  resultsDir: string;
  threads?: number;
  providers?: ProviderChoice;
}

export interface ImportDatasetJobOptions {
  datasetId: string;
  /** Real path, checked by the path guard. */
  folder: string;
  layout: 'photos' | 'labelled';
  storeDir: string;
  maxSidePx: number;
}

export interface TrainJobOptions {
  runId: string;
  /** checkpoint.ckpt, samples/ and model.onnx go here. */
  runDir: string;
  storeDir: string;
  task: Task;
  scale?: 2 | 4;
  baseModelPath?: string;
  stages: Stage[];
  loss: 'mse' | 'l1' | 'perceptual';
  lambda?: number;
  encoderPath?: string;
  batchSize: number;
  cropPx?: number;
  seed: number;
  workers?: number;
  /** Int32Array[1] over a SharedArrayBuffer (shared, not copied, into the worker): 1 asks the run to pause. */
  control: SharedArrayBuffer;
}

/** Per kind, the options a job body takes (plain data: they cross into a worker thread). */
export interface JobOptions {
  'enhance-photo': EnhancePhotoJobOptions;
  batch: BatchJobOptions;
  'import-dataset': ImportDatasetJobOptions;
  train: TrainJobOptions;
}

type Body<E> = E extends { jobId: string } ? Omit<E, 'jobId'> : never;
/** What a job body reports; the runner adds the job id, throttles progress and adds start/finish. */
export type JobEventBody = Body<Exclude<JobEvent, { type: 'started' | 'finished' }>>;

export interface JobIo {
  signal: AbortSignal;
  emit(e: JobEventBody): void;
}

export type JobFunction<K extends JobKind> = (options: JobOptions[K], io: JobIo) => Promise<JobResults[K]>;
