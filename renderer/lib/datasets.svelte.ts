// The dataset list, shared by the Datasets and Train views; reloaded when an import finishes.
import type { DatasetInfo } from '../../common/jobs.ts';
import type { EnhanceError } from '../../common/errors.ts';
import { api, onEventStreamOpen, onJobEvent, toEnhanceError } from './api.ts';

export const datasets: { list: DatasetInfo[]; loaded: boolean; error?: EnhanceError } = $state({ list: [], loaded: false });

/** Import jobs this page knows of; their finish changes a dataset's count and status. */
const importJobs = new Set<string>();

export function trackImport(jobId: string): void {
  importJobs.add(jobId);
}

export async function reloadDatasets(): Promise<void> {
  try {
    datasets.list = await api.listDatasets({});
    for (const d of datasets.list) if (d.jobId) importJobs.add(d.jobId);
    datasets.error = undefined;
  } catch (e) {
    datasets.error = toEnhanceError(e);
  } finally {
    datasets.loaded = true;
  }
}

onJobEvent((e) => {
  if (e.type === 'started' && e.kind === 'import-dataset') importJobs.add(e.jobId);
  if (e.type === 'finished' && importJobs.delete(e.jobId)) void reloadDatasets();
});
onEventStreamOpen(() => void reloadDatasets());
