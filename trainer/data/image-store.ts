// A prepared dataset: photos decoded once into raw RGB so training epochs read bytes instead of decoding JPEGs.
//
// Layout of a store folder:
//   pixels.bin  whole images, uint8 RGB interleaved, appended one after another;
//   index.json  where each image lives plus where it came from, replaced atomically (temp file + rename).
// Whole images rather than fixed patches: crops, scales and degradations differ per task and per epoch
// (x2 and x4 need different HR patch sizes, augmentation wants fresh crops), and cropping raw RGB is
// nearly free, so one store serves every task. maxSidePx bounds the cost of huge photos.
import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../atomic-write.ts';
import { importImages, listFiles, type ImportProgress, type SkippedFile } from './import-images.ts';
import type { ClassInfo } from './labelled-layouts.ts';

const INDEX_FILE = 'index.json';
const DATA_FILE = 'pixels.bin';
const STORE_VERSION = 1;

interface StoreEntry {
  /** Byte offset of the image in pixels.bin; its length is width * height * 3. */
  offset: number;
  width: number;
  height: number;
  label?: number;
  /** Absolute source path plus mtime and size: a resume skips a source only if all three still match. */
  source: string;
  sourceMtimeMs: number;
  sourceSizeBytes: number;
}

interface StoreIndex {
  version: number;
  maxSidePx: number | null;
  classes: ClassInfo[] | null;
  /** False while an import is running or after it was interrupted. */
  complete: boolean;
  entries: StoreEntry[];
}

export interface StoreSource {
  path: string;
  label?: number;
}

export interface ImportToStoreOptions {
  maxSidePx?: number;
  /** Saved with the store so its labels stay meaningful; a resume must pass the same list. */
  classes?: readonly ClassInfo[];
  signal?: AbortSignal;
  /** done and total count every source, including those a resume found already stored. */
  onProgress?: ImportProgress;
  /** How many stored images may be lost (re-decoded on resume) after a crash; each flush rewrites the index. */
  flushEveryImages?: number;
  concurrency?: number;
}

export interface ImportToStoreSummary {
  /** Images in the store now. */
  count: number;
  /** Stored by this call. */
  added: number;
  /** Sources found already stored and unchanged, so not decoded again. */
  alreadyStored: number;
  skipped: SkippedFile[];
}

export interface StoredImage {
  data: Uint8Array;
  width: number;
  height: number;
  label?: number;
}

export interface ImageStore {
  count: number;
  complete: boolean;
  maxSidePx: number | null;
  classes: ClassInfo[] | null;
  /** Reads one image with a positional read; nothing else of the data file is held in memory. */
  get(i: number): StoredImage;
  close(): void;
}

function entryBytes(entry: StoreEntry): number {
  return entry.width * entry.height * 3;
}

function readIndex(storeDir: string): StoreIndex | undefined {
  const path = join(storeDir, INDEX_FILE);
  if (!existsSync(path)) return undefined;
  const index = JSON.parse(readFileSync(path, 'utf8')) as StoreIndex;
  if (index.version !== STORE_VERSION) throw new Error(`${path}: store version ${index.version}, expected ${STORE_VERSION}`);
  return index;
}

/**
 * Atomic (temp file + fsync + rename), so a crash leaves either the old or the new index, never half of
 * one. The folder itself is not fsynced (Windows cannot open one): after a power cut the old index may
 * come back, which a resume handles like any other interruption.
 */
function writeIndex(storeDir: string, index: StoreIndex): void {
  writeFileAtomic(join(storeDir, INDEX_FILE), [Buffer.from(JSON.stringify(index))]);
}

function writeFully(fd: number, data: Uint8Array, position: number): void {
  for (let written = 0; written < data.length; ) {
    written += writeSync(fd, data, written, data.length - written, position + written);
  }
}

function readFully(fd: number, data: Uint8Array, position: number): void {
  for (let read = 0; read < data.length; ) {
    const n = readSync(fd, data, read, data.length - read, position + read);
    if (n === 0) throw new Error(`image store: unexpected end of ${DATA_FILE} at byte ${position + read}`);
    read += n;
  }
}

function sourceStat(path: string): { mtimeMs: number; sizeBytes: number } | undefined {
  try {
    const info = statSync(path);
    return { mtimeMs: info.mtimeMs, sizeBytes: info.size };
  } catch {
    return undefined; // the import reports why it cannot be read
  }
}

/**
 * Decodes sources (a folder, recursively, or a labelled list) into the store at storeDir, creating it or
 * resuming an earlier, possibly interrupted, import: sources already stored and unchanged are not decoded
 * again; bytes past the last indexed image (written after the last index flush) are truncated away.
 * A source that changed since it was stored is stored again; its old bytes stay in the data file, unused.
 * Aborting via options.signal flushes the index and rejects with the signal's reason.
 */
export async function importToStore(
  storeDir: string,
  sources: string | readonly StoreSource[],
  options: ImportToStoreOptions = {},
): Promise<ImportToStoreSummary> {
  const sourceList: readonly StoreSource[] =
    typeof sources === 'string' ? (await listFiles(sources)).map((path) => ({ path })) : sources;
  const maxSidePx = options.maxSidePx ?? null;
  const classes = options.classes ? [...options.classes] : null;
  mkdirSync(storeDir, { recursive: true });
  const index: StoreIndex = readIndex(storeDir) ?? { version: STORE_VERSION, maxSidePx, classes, complete: false, entries: [] };
  if (index.maxSidePx !== maxSidePx) {
    throw new Error(`image store ${storeDir} was built with maxSidePx ${index.maxSidePx}, not ${maxSidePx}`);
  }
  if (JSON.stringify(index.classes) !== JSON.stringify(classes)) {
    throw new Error(`image store ${storeDir} was built with a different class list`);
  }

  const dataPath = join(storeDir, DATA_FILE);
  const fd = openSync(dataPath, existsSync(dataPath) ? 'r+' : 'w+');
  try {
    // Entries whose bytes never reached the disk (power cut after an index flush) cannot be trusted.
    const dataSizeBytes = fstatSync(fd).size;
    index.entries = index.entries.filter((entry) => entry.offset + entryBytes(entry) <= dataSizeBytes);

    const work: { path: string; label?: number; mtimeMs: number; sizeBytes: number }[] = [];
    const stored = new Map(index.entries.map((entry) => [entry.source, entry]));
    const stale = new Set<StoreEntry>();
    for (const source of sourceList) {
      const path = resolve(source.path);
      const info = sourceStat(path) ?? { mtimeMs: -1, sizeBytes: -1 };
      const entry = stored.get(path);
      if (entry && entry.sourceMtimeMs === info.mtimeMs && entry.sourceSizeBytes === info.sizeBytes) continue;
      if (entry) stale.add(entry);
      work.push({ path, label: source.label, ...info });
    }
    index.entries = index.entries.filter((entry) => !stale.has(entry));
    let dataEndBytes = index.entries.reduce((end, entry) => Math.max(end, entry.offset + entryBytes(entry)), 0);
    // Bytes no entry owns belong to images stored after the last flush; they are decoded and appended again.
    if (dataSizeBytes > dataEndBytes) ftruncateSync(fd, dataEndBytes);
    index.complete = false;
    writeIndex(storeDir, index);

    const alreadyStored = sourceList.length - work.length;
    const flushEveryImages = Math.max(1, options.flushEveryImages ?? 128);
    const skipped: SkippedFile[] = [];
    let added = 0;
    let unflushed = 0;
    const { onProgress } = options;
    const flush = (): void => {
      fsyncSync(fd); // the pixels must be on disk before an index that points at them
      writeIndex(storeDir, index);
      unflushed = 0;
    };
    try {
      let i = 0;
      for await (const result of importImages(
        work.map((w) => w.path),
        {
          maxSidePx: options.maxSidePx,
          signal: options.signal,
          concurrency: options.concurrency,
          onProgress: onProgress && ((done, _total, path) => onProgress(alreadyStored + done, sourceList.length, path)),
        },
      )) {
        const source = work[i++];
        if (!('image' in result)) {
          skipped.push(result);
          continue;
        }
        const { data, width, height } = result.image;
        writeFully(fd, data, dataEndBytes);
        index.entries.push({
          offset: dataEndBytes,
          width,
          height,
          ...(source.label === undefined ? {} : { label: source.label }),
          source: source.path,
          sourceMtimeMs: source.mtimeMs,
          sourceSizeBytes: source.sizeBytes,
        });
        dataEndBytes += data.length;
        added++;
        if (++unflushed >= flushEveryImages) flush();
      }
      index.complete = true;
    } finally {
      flush();
    }
    return { count: index.entries.length, added, alreadyStored, skipped };
  } finally {
    closeSync(fd);
  }
}

export function openImageStore(storeDir: string): ImageStore {
  const index = readIndex(storeDir);
  if (!index) throw new Error(`${storeDir} is not an image store (no ${INDEX_FILE})`);
  const fd = openSync(join(storeDir, DATA_FILE), 'r');
  const dataSizeBytes = fstatSync(fd).size;
  const { entries } = index;
  if (entries.some((entry) => entry.offset + entryBytes(entry) > dataSizeBytes)) {
    closeSync(fd);
    throw new Error(`image store ${storeDir}: ${DATA_FILE} is shorter than its index; resume the import to repair it`);
  }
  return {
    count: entries.length,
    complete: index.complete,
    maxSidePx: index.maxSidePx,
    classes: index.classes,
    get(i: number): StoredImage {
      const entry = entries[i];
      if (!Number.isInteger(i) || entry === undefined) throw new RangeError(`image store: no image ${i} (count ${entries.length})`);
      const data = new Uint8Array(entryBytes(entry));
      readFully(fd, data, entry.offset);
      return {
        data,
        width: entry.width,
        height: entry.height,
        ...(entry.label === undefined ? {} : { label: entry.label }),
      };
    },
    close(): void {
      closeSync(fd);
    },
  };
}
