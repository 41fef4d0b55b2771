import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import type { DatasetInfo, DatasetThumbnail, JobEvent, JobResults } from '../../common/jobs.ts';
import { writeFileAtomic } from '../../trainer/atomic-write.ts';
import { openImageStore } from '../../trainer/data/image-store.ts';
import { storeEntries } from '../../trainer/train-plan.ts';
import { EngineError } from '../engine/errors.ts';
import type { JobRunner } from '../jobs/runner.ts';
import type { PathGuard } from './path-guard.ts';

/** What the catalogue keeps per dataset: what the view lists (less the live job id) and when it last changed. */
interface DatasetRecord extends Omit<DatasetInfo, 'jobId'> {
  updatedAt: number;
}

export interface DatasetCatalogueFile {
  version: 1;
  datasets: DatasetRecord[];
}

const thumbnailSidePx = 96;
/** Photos are stored at most this size a side: large enough for 256 px crops, small enough for 10,000 photos. */
const storeMaxSidePx = 1024;

export function readDatasetCatalogue(path: string): DatasetCatalogueFile {
  if (!existsSync(path)) return { version: 1, datasets: [] };
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as DatasetCatalogueFile;
  } catch (e) {
    throw new EngineError('internal', `the dataset catalogue ${path} cannot be read (${(e as Error).message}); move it away to start a new one`, path);
  }
}

/** Atomic (temp file, fsync, rename): a crash or kill mid-write leaves the previous catalogue readable. */
export function writeDatasetCatalogue(path: string, c: DatasetCatalogueFile): void {
  writeFileAtomic(path, [Buffer.from(`${JSON.stringify(c, null, 1)}\n`)]);
}

/**
 * The user's datasets: each a prepared image store under `<dataDir>/datasets/<id>/` (the photos stay
 * where they are), listed in `catalogue.json`. Only this process writes the catalogue; import jobs
 * report back through their finish events.
 */
export class DatasetCatalogue {
  readonly dir: string;
  private readonly path: string;
  /** Import jobs running in this process, by dataset id. */
  private readonly live = new Map<string, string>();

  constructor(dataDir: string, private readonly jobs: JobRunner, private readonly guard: PathGuard) {
    this.dir = join(dataDir, 'datasets');
    this.path = join(this.dir, 'catalogue.json');
    mkdirSync(this.dir, { recursive: true });
    jobs.onEvent((e) => this.onJobEvent(e));
  }

  storeDir(id: string): string {
    return join(this.dir, id, 'store');
  }

  list(): DatasetInfo[] {
    return readDatasetCatalogue(this.path).datasets.map((r) => this.info(r));
  }

  get(id: string): DatasetInfo {
    const r = readDatasetCatalogue(this.path).datasets.find((d) => d.id === id);
    if (!r) throw new EngineError('unknown-id', `there is no dataset ${id}`);
    return this.info(r);
  }

  isImporting(id: string): boolean {
    return this.live.has(id);
  }

  /** `folder` is a real path the guard allowed. The same folder and layout again continue that dataset. */
  startImport(folder: string, layout: 'photos' | 'labelled', name?: string): { jobId: string; datasetId: string } {
    const c = readDatasetCatalogue(this.path);
    let r = c.datasets.find((d) => d.folder === folder && d.layout === layout);
    if (r && this.live.has(r.id)) return { jobId: this.live.get(r.id)!, datasetId: r.id };
    const now = Date.now();
    if (!r) {
      r = { id: `ds-${randomUUID().slice(0, 8)}`, name: name ?? basename(folder), folder, layout, count: 0, skipped: [], status: 'importing', createdAt: now, updatedAt: now };
      c.datasets.push(r);
    }
    Object.assign(r, { status: 'importing', updatedAt: now, error: undefined, ...(name ? { name } : {}) });
    writeDatasetCatalogue(this.path, c);
    const jobId = this.jobs.start('import-dataset', { datasetId: r.id, folder, layout, storeDir: this.storeDir(r.id), maxSidePx: storeMaxSidePx },
      `import ${r.name}`);
    this.live.set(r.id, jobId);
    return { jobId, datasetId: r.id };
  }

  /**
   * A page of ~96 px JPEG thumbnails, made from the stored pixels on first request and kept in
   * `thumbs/`, named by the image's place in the store's data file (stable while imports add photos).
   * Each becomes readable through the path guard (not the whole data folder, which is no root to browse).
   */
  async thumbnails(id: string, offset: number, limit: number): Promise<{ total: number; items: DatasetThumbnail[] }> {
    this.get(id);
    const entries = storeEntries(this.storeDir(id));
    const page = entries.slice(offset, offset + limit);
    const thumbsDir = join(this.dir, id, 'thumbs');
    mkdirSync(thumbsDir, { recursive: true });
    const items = page.map((e, k): DatasetThumbnail => ({
      index: offset + k, path: join(thumbsDir, `${e.offset}.jpg`), widthPx: e.width, heightPx: e.height, source: e.source,
    }));
    const missing = page.flatMap((e, k) => (existsSync(items[k].path) ? [] : [{ entry: e, path: items[k].path }]));
    if (missing.length) {
      const fd = openSync(join(this.storeDir(id), 'pixels.bin'), 'r');
      try {
        // Four at a time: libuv's pool size, where sharp's work queues anyway.
        for (let i = 0; i < missing.length; i += 4) {
          await Promise.all(missing.slice(i, i + 4).map(async ({ entry, path }) => {
            const pixels = Buffer.alloc(entry.width * entry.height * 3);
            for (let read = 0; read < pixels.length; ) {
              const n = readSync(fd, pixels, read, pixels.length - read, entry.offset + read);
              if (n === 0) throw new EngineError('corrupt-image', `dataset ${id}: its store ends early; import the folder again to repair it`);
              read += n;
            }
            const jpeg = await sharp(pixels, { raw: { width: entry.width, height: entry.height, channels: 3 } })
              .resize({ width: thumbnailSidePx, height: thumbnailSidePx, fit: 'inside', withoutEnlargement: true })
              .jpeg({ quality: 80 })
              .toBuffer();
            writeFileAtomic(path, [jpeg]);
          }));
        }
      } finally {
        closeSync(fd);
      }
    }
    for (const item of items) this.guard.allowFile(item.path, ['read']);
    return { total: entries.length, items };
  }

  /** Deletes the dataset's own folder (store and thumbnails), never the photos it was imported from. */
  remove(id: string): void {
    this.get(id);
    if (this.live.has(id)) throw new EngineError('usage', 'the dataset is still importing: cancel the import first, then delete it');
    const c = readDatasetCatalogue(this.path);
    c.datasets = c.datasets.filter((d) => d.id !== id);
    writeDatasetCatalogue(this.path, c);
    rmSync(join(this.dir, id), { recursive: true, force: true });
  }

  private info(r: DatasetRecord): DatasetInfo {
    const jobId = this.live.get(r.id);
    // 'importing' with no job in this process: the app stopped mid-import; importing again resumes.
    const status = r.status === 'importing' && !jobId ? 'incomplete' : r.status;
    return {
      id: r.id, name: r.name, folder: r.folder, layout: r.layout, count: r.count, skipped: r.skipped, status, createdAt: r.createdAt,
      ...(r.classes ? { classes: r.classes } : {}), ...(jobId ? { jobId } : {}), ...(r.error ? { error: r.error } : {}),
    };
  }

  private onJobEvent(e: JobEvent): void {
    if (e.type !== 'finished') return;
    const id = [...this.live].find(([, jobId]) => jobId === e.jobId)?.[0];
    if (id === undefined) return;
    this.live.delete(id);
    const c = readDatasetCatalogue(this.path);
    const r = c.datasets.find((d) => d.id === id);
    if (!r) return;
    const result = e.result as JobResults['import-dataset'] | undefined;
    let stored: { count: number; classes: DatasetRecord['classes'] | null } = { count: r.count, classes: null };
    try {
      const store = openImageStore(this.storeDir(id));
      store.close();
      stored = store;
    } catch {
      // No store yet (cancelled or failed before the first photo): keep the last count.
    }
    r.count = stored.count;
    if (stored.classes) r.classes = stored.classes;
    r.updatedAt = Date.now();
    if (e.status === 'done' && result) {
      r.status = 'ready';
      r.skipped = result.skipped;
      r.error = r.count === 0
        ? `no usable photos in ${r.folder}${result.skipped.length ? ` (${result.skipped.length} file${result.skipped.length === 1 ? '' : 's'} skipped)` : ''}`
        : undefined;
    } else {
      r.status = 'incomplete';
      r.error = e.status === 'failed' ? e.error?.message : undefined;
    }
    writeDatasetCatalogue(this.path, c);
  }
}
