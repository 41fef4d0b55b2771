import { isUtf8 } from 'node:buffer';
import { lstat, mkdir, open, readdir, readFile, realpath, rm, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve, sep } from 'node:path';
import type { EnhanceError } from '../../common/errors.ts';
import { classifyError, EngineError } from './errors.ts';
import { enhanceImage, type EnhanceImageOptions, splitPath, tempSuffix } from './enhance-image.ts';
import { type FsPath, type OutputFormat, shownPath } from './image-io.ts';
import type { EngineModel } from './model-session.ts';
import { checkModelOutput } from './tiling.ts';

/** Extensions the batch picks up; anything else in the folder is left alone, not reported. */
const imageExtensions = new Set(['.jpg', '.jpeg', '.jpe', '.jfif', '.png', '.webp', '.avif', '.tif', '.tiff', '.gif']);

/** Whether the batch would pick this file up (by extension; the bytes are checked when decoding). */
export function isImagePath(path: string): boolean {
  return imageExtensions.has(extname(path).toLowerCase());
}
const extensionOf: Record<OutputFormat, string> = { png: '.png', jpeg: '.jpg', webp: '.webp', avif: '.avif', tiff: '.tif' };
/** What 'same' resolves to per input extension, to name outputs before decoding anything. */
const formatOfExtension: Record<string, OutputFormat> = {
  '.jpg': 'jpeg', '.jpeg': 'jpeg', '.jpe': 'jpeg', '.jfif': 'jpeg', '.png': 'png', '.webp': 'webp', '.avif': 'avif', '.tif': 'tiff', '.tiff': 'tiff',
};

/**
 * The outputs this tool finished, one JSON line each ({"file": path relative to the output folder,
 * "bytes": size, "best": true when made in Best quality}), appended and synced before each output
 * takes its name. A file at an output's name counts as done only when it is listed here with its size
 * and was made in this run's quality; anything else there is not ours.
 */
export const journalName = '.enhance-journal';

export interface BatchItem {
  inputPath: string;
  outputPath: string;
  format: OutputFormat;
  /**
   * The exact paths when a name on the way is not valid UTF-8; `inputPath` and `outputPath` then
   * show it with U+FFFD and serve for display only.
   */
  fsPaths?: { input: Buffer; output: Buffer };
}

export interface BatchPlan {
  items: BatchItem[];
  /** Inputs refused before any work: would overwrite an input, or two inputs share an output. */
  refused: { inputPath: string; error: EnhanceError }[];
  /** The output folder, which holds the journal of finished outputs. */
  outputRoot: string;
}

export interface BatchOptions extends Omit<EnhanceImageOptions, 'onProgress' | 'format' | 'beforeRename'> {
  format?: OutputFormat | 'same';
  /** Walk subfolders and mirror them under the output folder. */
  recursive?: boolean;
  /** Files enhanced at once; they share the model session. */
  jobs?: number;
  onEvent?: (e: BatchEvent) => void;
}

export interface BatchProgress {
  /** 0–1 over the whole batch, counting the tiles of files in flight. */
  fraction: number;
  filesDone: number;
  filesTotal: number;
  /** Megapixels of input processed so far, counting finished tiles of files in flight. */
  inputMegapixelsDone: number;
  /** The files in flight. */
  current: string[];
}

export type BatchEvent =
  | { type: 'progress'; progress: BatchProgress }
  | { type: 'file-done'; item: BatchItem; inputMegapixels: number; seconds: number }
  | { type: 'file-skipped'; item: BatchItem }
  | { type: 'file-failed'; inputPath: string; error: EnhanceError };

export interface BatchSummary {
  total: number;
  enhanced: number;
  /** Outputs an earlier run finished (listed in the journal with their size). */
  skipped: number;
  failed: { inputPath: string; error: EnhanceError }[];
  aborted: boolean;
  inputMegapixels: number;
  seconds: number;
}

/** The bytes of a path as the file system has them; a string path is UTF-8. */
const bytesOf = (p: FsPath): Buffer => (typeof p === 'string' ? Buffer.from(p) : p);
/** A lossless key for maps and sets of byte paths. */
const keyOf = (p: FsPath): string => bytesOf(p).toString('latin1');
const joinBytes = (dir: Buffer, name: Buffer): Buffer => Buffer.concat([dir, dir.at(-1) === sep.charCodeAt(0) ? Buffer.alloc(0) : Buffer.from(sep), name]);

/** The real path of `p`, which need not exist yet: its deepest existing ancestor resolved, the rest appended. */
async function realpathOfNew(p: string): Promise<string> {
  try {
    return await realpath(p);
  } catch {
    const parent = dirname(p);
    return parent === p ? p : join(await realpathOfNew(parent), basename(p));
  }
}

/**
 * Lists the inputs and names their outputs. `input` may be a folder or one file; the output
 * folder may lie inside the input folder, whose subtree is then not walked (compared by real
 * path, so a symlink on either side does not make outputs inputs). Names are handled as the
 * file system's bytes, so names that are not valid UTF-8 work too.
 */
export async function planBatch(input: string, outDir: string, o: Pick<BatchOptions, 'recursive' | 'format'> = {}): Promise<BatchPlan> {
  const inRoot = resolve(input);
  const outRoot = resolve(outDir);
  const outStat = await stat(outRoot).catch(() => undefined);
  if (outStat && !outStat.isDirectory()) throw new EngineError('output-not-writable', `the output folder ${outRoot} is a file; give a folder`, outRoot);
  const outReal = Buffer.from(await realpathOfNew(outRoot));
  let isDirectory: boolean;
  let inputs: Buffer[];
  try {
    isDirectory = (await stat(inRoot)).isDirectory();
    inputs = isDirectory ? await listImages(Buffer.from(inRoot), outReal, o.recursive ?? false) : [Buffer.from(inRoot)];
  } catch (e) {
    const path = (e as { path?: FsPath }).path;
    throw classifyError(e, path === undefined ? inRoot : shownPath(path), 'read');
  }
  const base = Buffer.from(isDirectory ? inRoot : dirname(inRoot));
  const realOf = (p: Buffer) => realpath(p, { encoding: 'buffer' }).catch(() => p);
  const inputSet = new Set((await Promise.all(inputs.map(realOf))).map(keyOf));
  for (const p of inputs) inputSet.add(keyOf(p));
  const plan: BatchPlan = { items: [], refused: [], outputRoot: outRoot };
  const claimed = new Map<string, string>();
  const outRootBytes = Buffer.from(outRoot);
  for (const inputBytes of inputs) {
    const rel = inputBytes.subarray(base.length + (base.at(-1) === sep.charCodeAt(0) ? 0 : 1));
    // Extensions are ASCII, so latin1 finds them in any name.
    const ext = extname(rel.toString('latin1'));
    // 'same' follows the extension, not the content, so a name always matches what is inside it;
    // an input we cannot write back (GIF) becomes PNG.
    const same = o.format === undefined || o.format === 'same';
    const format = same ? (formatOfExtension[ext.toLowerCase()] ?? 'png') : o.format as OutputFormat;
    const outRel = same && formatOfExtension[ext.toLowerCase()] ? rel : Buffer.concat([rel.subarray(0, rel.length - ext.length), Buffer.from(extensionOf[format])]);
    const outputBytes = joinBytes(outRootBytes, outRel);
    const inputPath = inputBytes.toString();
    const outputPath = outputBytes.toString();
    const twin = claimed.get(keyOf(outputBytes));
    if (inputSet.has(keyOf(await realOf(outputBytes))) || inputSet.has(keyOf(outputBytes))) {
      plan.refused.push({ inputPath, error: { code: 'would-overwrite-input', message: `its output ${outputPath} is an input file`, path: inputPath } });
    } else if (twin !== undefined) {
      plan.refused.push({ inputPath, error: { code: 'output-collision', message: `${twin} also writes ${outputPath}`, path: inputPath } });
    } else {
      claimed.set(keyOf(outputBytes), inputPath);
      const exact = isUtf8(inputBytes) && isUtf8(outputBytes);
      plan.items.push({ inputPath, outputPath, format, ...(exact ? {} : { fsPaths: { input: inputBytes, output: outputBytes } }) });
    }
  }
  return plan;
}

async function listImages(dir: Buffer, skipReal: Buffer, recursive: boolean): Promise<Buffer[]> {
  const out: Buffer[] = [];
  const entries = await readdir(dir, { withFileTypes: true, encoding: 'buffer' });
  entries.sort((a, b) => Buffer.compare(a.name, b.name));
  for (const e of entries) {
    if (e.name[0] === 0x2e) continue;
    const path = joinBytes(dir, e.name);
    if (e.isDirectory()) {
      // Outputs written inside the input tree are not inputs.
      if (recursive && !(await realpath(path, { encoding: 'buffer' })).equals(skipReal)) out.push(...(await listImages(path, skipReal, true)));
    } else if ((e.isFile() || e.isSymbolicLink()) && imageExtensions.has(extname(e.name.toString('latin1')).toLowerCase())) {
      out.push(path);
    }
  }
  return out;
}

/** Removes temp files that a killed run left; those of a live process (another run) stay. */
async function removeAbandonedTemps(dirs: Iterable<FsPath>): Promise<void> {
  for (const dir of dirs) {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      if (!name.startsWith('.') || !name.endsWith(tempSuffix)) continue;
      const pid = Number(name.slice(0, -tempSuffix.length).split('.').at(-2));
      if (Number.isInteger(pid) && pid !== process.pid && isAlive(pid)) continue;
      await rm(typeof dir === 'string' ? join(dir, name) : joinBytes(dir, Buffer.from(name)), { force: true });
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface JournalEntry {
  bytes: number;
  /** Made in Best quality (the self-ensemble). */
  best: boolean;
}

/** The journal of an output folder: read once, appended (and synced) as outputs finish. */
class Journal {
  private handle?: Promise<FileHandle>;
  private last: Promise<unknown> = Promise.resolve();

  private constructor(private readonly path: string, private readonly entries: Map<string, JournalEntry>) {}

  static async open(outputRoot: string): Promise<Journal> {
    const path = join(outputRoot, journalName);
    const entries = new Map<string, JournalEntry>();
    const text = await readFile(path, 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      try {
        // A line cut short by a crash fails to parse and is ignored: its output was never renamed into place.
        const entry = JSON.parse(line) as { file?: string; fileBytes?: string; bytes?: number; best?: boolean };
        const rel = entry.fileBytes !== undefined ? Buffer.from(entry.fileBytes, 'base64') : entry.file !== undefined ? Buffer.from(entry.file) : undefined;
        if (rel && typeof entry.bytes === 'number') entries.set(keyOf(rel), { bytes: entry.bytes, best: entry.best === true });
      } catch {
        continue;
      }
    }
    return new Journal(path, entries);
  }

  /** What was recorded of an output, if this tool finished it. */
  entry(rel: Buffer): JournalEntry | undefined {
    return this.entries.get(keyOf(rel));
  }

  record(rel: Buffer, entry: JournalEntry): Promise<void> {
    const name = isUtf8(rel) ? { file: rel.toString() } : { fileBytes: rel.toString('base64') };
    const line = `${JSON.stringify({ ...name, bytes: entry.bytes, ...(entry.best ? { best: true } : {}) })}\n`;
    // One append at a time, each synced before the output it names appears.
    const done = this.last.then(async () => {
      this.handle ??= open(this.path, 'a');
      const fh = await this.handle;
      await fh.write(line);
      await fh.datasync();
      this.entries.set(keyOf(rel), entry);
    });
    this.last = done.catch(() => {});
    return done;
  }

  async close(): Promise<void> {
    await this.last;
    if (this.handle) await (await this.handle.catch(() => undefined))?.close();
  }
}

const qualityName = (best: boolean) => (best ? 'Best' : 'Fast');

/** Why a file at an output's name is not taken as done, or undefined when it is a finished output of this run's quality. */
function foreignOutput(outputPath: string, st: Awaited<ReturnType<typeof lstat>>, recorded: JournalEntry | undefined, best: boolean): string | undefined {
  if (st.isDirectory()) return `a folder is in the way of its output ${outputPath}`;
  if (!st.isFile()) return `something that is not a file is in the way of its output ${outputPath}`;
  if (recorded === undefined) return `${outputPath} already exists and was not written by Enhance; move it away or choose another output folder`;
  if (recorded.bytes !== Number(st.size)) return `${outputPath} changed since Enhance wrote it (${st.size} bytes, was ${recorded.bytes}); move it away to enhance the photo again`;
  // Skipping it would hand back the other quality's result as this run's.
  if (recorded.best !== best) return `${outputPath} was enhanced in ${qualityName(recorded.best)} quality by an earlier run; choose another output folder (or move it away) for ${qualityName(best)}`;
  return undefined;
}

/**
 * Enhances every planned file that has no finished output yet; a failed file is reported and the
 * batch goes on. A model whose graph disagrees with its descriptor stops it before any file (it
 * rejects). Aborting stops after the tile in flight and leaves no temp files behind.
 */
export async function runBatch(model: EngineModel, plan: BatchPlan, o: BatchOptions = {}): Promise<BatchSummary> {
  const started = performance.now();
  const emit = o.onEvent ?? (() => {});
  const best = o.selfEnsemble === true;
  const summary: BatchSummary = { total: plan.items.length + plan.refused.length, enhanced: 0, skipped: 0, failed: [], aborted: false, inputMegapixels: 0, seconds: 0 };
  if (plan.items.length > 0) await checkModelOutput(model);
  const fail = (inputPath: string, error: EnhanceError) => {
    summary.failed.push({ inputPath, error });
    emit({ type: 'file-failed', inputPath, error });
  };
  for (const r of plan.refused) fail(r.inputPath, r.error);

  const fsPath = (item: BatchItem) => ({ input: item.fsPaths?.input ?? item.inputPath, output: item.fsPaths?.output ?? item.outputPath });
  await removeAbandonedTemps(new Map(plan.items.map((i) => {
    const dir = splitPath(fsPath(i).output)[0];
    return [keyOf(dir), dir];
  })).values());
  const journal = await Journal.open(plan.outputRoot);
  const rootLength = Buffer.byteLength(plan.outputRoot) + (plan.outputRoot.endsWith(sep) ? 0 : 1);
  const inFlight = new Map<string, { fraction: number; megapixels: number }>();
  let filesDone = plan.refused.length;
  const progress = () => {
    let partial = 0;
    let partialMp = 0;
    for (const f of inFlight.values()) {
      partial += f.fraction;
      partialMp += f.fraction * f.megapixels;
    }
    emit({ type: 'progress', progress: {
      fraction: summary.total === 0 ? 1 : (filesDone + partial) / summary.total,
      filesDone,
      filesTotal: summary.total,
      inputMegapixelsDone: summary.inputMegapixels + partialMp,
      current: [...inFlight.keys()],
    } });
  };

  const one = async (item: BatchItem): Promise<void> => {
    const paths = fsPath(item);
    const rel = bytesOf(paths.output).subarray(rootLength);
    let existing: Awaited<ReturnType<typeof lstat>> | undefined;
    try {
      existing = await lstat(paths.output);
    } catch (e) {
      // A name the file system cannot hold fails now, before any work; a missing one is the usual case.
      if ((e as NodeJS.ErrnoException).code === 'ENAMETOOLONG') {
        const err = classifyError(e, item.outputPath, 'write');
        fail(item.inputPath, { code: err.code, message: `its output ${item.outputPath}: ${err.message}`, path: item.inputPath });
        return;
      }
    }
    if (existing) {
      const why = foreignOutput(item.outputPath, existing, journal.entry(rel), best);
      if (why === undefined) {
        summary.skipped++;
        emit({ type: 'file-skipped', item });
      } else {
        fail(item.inputPath, { code: 'output-collision', message: why, path: item.inputPath });
      }
      return;
    }
    const t0 = performance.now();
    inFlight.set(item.inputPath, { fraction: 0, megapixels: 0 });
    progress();
    try {
      const outDir = splitPath(paths.output)[0];
      try {
        await mkdir(outDir, { recursive: true });
      } catch (e) {
        throw classifyError(e, shownPath(outDir), 'write');
      }
      const r = await enhanceImage(model, paths.input, paths.output, {
        ...o,
        format: item.format,
        beforeRename: (bytes) => journal.record(rel, { bytes, best }),
        onProgress: (p) => {
          inFlight.set(item.inputPath, { fraction: p.fraction, megapixels: p.inputMegapixels });
          progress();
        },
      });
      const mp = (r.inputWidthPx * r.inputHeightPx) / 1e6;
      summary.enhanced++;
      summary.inputMegapixels += mp;
      emit({ type: 'file-done', item, inputMegapixels: mp, seconds: (performance.now() - t0) / 1000 });
    } catch (e) {
      const err = e instanceof EngineError ? e : classifyError(e, item.inputPath, 'read');
      if (err.code === 'aborted') summary.aborted = true;
      // Report against the input: that is what the user picked; the message names the output when it was the problem.
      else fail(item.inputPath, { code: err.code, message: err.path && err.path !== item.inputPath && !err.message.includes(err.path) ? `${err.message} (${err.path})` : err.message, path: item.inputPath });
    } finally {
      inFlight.delete(item.inputPath);
    }
  };

  const queue = [...plan.items];
  const worker = async () => {
    for (let item = queue.shift(); item; item = queue.shift()) {
      if (o.signal?.aborted) {
        summary.aborted = true;
        return;
      }
      await one(item);
      filesDone++;
      progress();
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, o.jobs ?? 1) }, worker));
  } finally {
    await journal.close();
  }
  summary.seconds = (performance.now() - started) / 1000;
  return summary;
}
