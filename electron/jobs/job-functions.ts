import type { JobKind } from '../../common/jobs.ts';
import type { JobFunction } from './job-types.ts';

/** Every job body, loaded on first use (in the worker thread that runs it, or in the CLI's process). */
export const jobFunctions: { [K in JobKind]: () => Promise<JobFunction<K>> } = {
  'enhance-photo': async () => (await import('./enhance-photo-job.ts')).enhancePhotoJob,
  batch: async () => (await import('./batch-job.ts')).batchJob,
  'import-dataset': async () => (await import('./import-dataset-job.ts')).importDatasetJob,
  train: async () => (await import('./train-job.ts')).trainJob,
};
