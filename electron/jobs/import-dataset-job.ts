import type { EnhanceErrorCode } from '../../common/errors.ts';
import type { JobResults } from '../../common/jobs.ts';
import { importToStore, openImageStore, type StoreSource } from '../../trainer/data/image-store.ts';
import { readLabelledDataset } from '../../trainer/data/labelled-layouts.ts';
import { etaSeconds } from './eta.ts';
import type { ImportDatasetJobOptions, JobIo } from './job-types.ts';

/** The import's reason for skipping a file, as the code the UI chooses an icon or message by. */
function skipCode(reason: string): EnhanceErrorCode {
  if (reason.startsWith('empty file')) return 'empty-file';
  if (reason.startsWith('cannot read')) return 'unreadable';
  if (reason.startsWith('not ')) return 'not-an-image';
  return 'corrupt-image';
}

function storedCount(storeDir: string): number {
  try {
    const store = openImageStore(storeDir);
    store.close();
    return store.count;
  } catch {
    return 0; // cancelled before the store was created
  }
}

/**
 * Decodes a folder into the dataset's prepared store. Resumable: photos already stored are not decoded
 * again, so a cancelled import continues where it stopped when started again.
 */
export async function importDatasetJob(o: ImportDatasetJobOptions, io: JobIo): Promise<JobResults['import-dataset']> {
  let sources: string | StoreSource[] = o.folder;
  let classes;
  if (o.layout === 'labelled') {
    const labelled = await readLabelledDataset(o.folder);
    classes = labelled.classes;
    sources = [...labelled.train, ...labelled.val];
  }
  const started = performance.now();
  // The rate counts only what this run decodes: a resumed import starts with many photos done.
  let firstDone: number | undefined;
  try {
    const summary = await importToStore(o.storeDir, sources, {
      maxSidePx: o.maxSidePx, classes, signal: io.signal,
      onProgress: (done, total) => {
        firstDone ??= done - 1;
        const elapsedSeconds = (performance.now() - started) / 1000;
        const ownFraction = (done - firstDone) / Math.max(1, total - firstDone);
        io.emit({ type: 'progress', progress: {
          fraction: done / total, etaSeconds: etaSeconds(ownFraction, elapsedSeconds), elapsedSeconds,
          message: `${done}/${total} photos`, filesDone: done, filesTotal: total,
        } });
      },
    });
    for (const s of summary.skipped) {
      io.emit({ type: 'file', file: { input: s.path, status: 'skipped', error: { code: skipCode(s.reason), message: s.reason, path: s.path } } });
    }
    return { datasetId: o.datasetId, count: summary.count, skipped: summary.skipped, added: summary.added, alreadyStored: summary.alreadyStored };
  } catch (e) {
    if (!io.signal.aborted) throw e;
    // importToStore flushed its index before rejecting: what it stored stays for the next run.
    return { datasetId: o.datasetId, count: storedCount(o.storeDir), skipped: [], cancelled: true };
  }
}
