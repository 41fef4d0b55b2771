import type { JobKind } from '../../common/jobs.ts';
import type { JobFunction } from './job-types.ts';

/** Every job body, loaded on first use (in the worker thread that runs it, or in the CLI's process). */
export const jobFunctions: { [K in JobKind]: () => Promise<JobFunction<K>> } = {
  'enhance-photo': async () => (await import('./enhance-photo-job.ts')).enhancePhotoJob,
  batch: async () => (await import('./batch-job.ts')).batchJob,
  'import-dataset': async () => {
    throw new Error('dataset import is not available yet');
  },
  train: async () => {
    throw new Error('training from the app is not available yet');
  },
};
