import { existsSync } from 'node:fs';
import { mkdir, readdir, realpath, rm, stat } from 'node:fs/promises';
import { dirname, extname, join, relative, resolve } from 'node:path';
import type { EnhanceError } from '../../common/errors.ts';
import { classifyError, EngineError } from './errors.ts';
import { enhanceImage, type EnhanceImageOptions, tempSuffix } from './enhance-image.ts';
import type { OutputFormat } from './image-io.ts';
import type { EngineModel } from './model-session.ts';

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

export interface BatchItem {
  inputPath: string;
  outputPath: string;
  format: OutputFormat;
}

export interface BatchPlan {
  items: BatchItem[];
  /** Inputs refused before any work: would overwrite an input, or two inputs share an output. */
  refused: { inputPath: string; error: EnhanceError }[];
}

export interface BatchOptions extends Omit<EnhanceImageOptions, 'onProgress' | 'format'> {
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
  /** Outputs that already existed (an earlier run finished them). */
  skipped: number;
  failed: { inputPath: string; error: EnhanceError }[];
  aborted: boolean;
  inputMegapixels: number;
  seconds: number;
}

/**
 * Lists the inputs and names their outputs. `input` may be a folder or one file; the output
 * folder may lie inside the input folder, whose subtree is then not walked.
 */
export async function planBatch(input: string, outDir: string, o: Pick<BatchOptions, 'recursive' | 'format'> = {}): Promise<BatchPlan> {
  const inRoot = resolve(input);
  const outRoot = resolve(outDir);
  let isDirectory: boolean;
  let inputs: string[];
  try {
    isDirectory = (await stat(inRoot)).isDirectory();
    inputs = isDirectory ? await listImages(inRoot, outRoot, o.recursive ?? false) : [inRoot];
  } catch (e) {
    throw classifyError(e, (e as { path?: string }).path ?? inRoot, 'read');
  }
  const base = isDirectory ? inRoot : dirname(inRoot);
  const inputSet = new Set(await Promise.all(inputs.map((p) => realpath(p).catch(() => p))));
  const plan: BatchPlan = { items: [], refused: [] };
  const claimed = new Map<string, string>();
  for (const inputPath of inputs) {
    const rel = relative(base, inputPath);
    const ext = extname(rel);
    // 'same' follows the extension, not the content, so a name always matches what is inside it;
    // an input we cannot write back (GIF) becomes PNG.
    const same = o.format === undefined || o.format === 'same';
    const format = same ? (formatOfExtension[ext.toLowerCase()] ?? 'png') : o.format as OutputFormat;
    const outName = same && formatOfExtension[ext.toLowerCase()] ? rel : rel.slice(0, rel.length - ext.length) + extensionOf[format];
    const outputPath = join(outRoot, outName);
    const real = await realpath(outputPath).catch(() => outputPath);
    const twin = claimed.get(outputPath);
    if (inputSet.has(real) || inputSet.has(outputPath)) {
      plan.refused.push({ inputPath, error: { code: 'would-overwrite-input', message: `its output ${outputPath} is an input file`, path: inputPath } });
    } else if (twin !== undefined) {
      plan.refused.push({ inputPath, error: { code: 'output-collision', message: `${twin} also writes ${outputPath}`, path: inputPath } });
    } else {
      claimed.set(outputPath, inputPath);
      plan.items.push({ inputPath, outputPath, format });
    }
  }
  return plan;
}

async function listImages(dir: string, skipDir: string, recursive: boolean): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      // Outputs written inside the input tree are not inputs.
      if (recursive && path !== skipDir) out.push(...(await listImages(path, skipDir, true)));
    } else if ((e.isFile() || e.isSymbolicLink()) && imageExtensions.has(extname(e.name).toLowerCase())) {
      out.push(path);
    }
  }
  return out;
}

/** Removes temp files that a killed run left; those of a live process (another run) stay. */
async function removeAbandonedTemps(dirs: Iterable<string>): Promise<void> {
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
      await rm(join(dir, name), { force: true });
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

/**
 * Enhances every planned file that has no output yet; a failed file is reported and the batch
 * goes on. Aborting stops after the tile in flight and leaves no temp files behind.
 */
export async function runBatch(model: EngineModel, plan: BatchPlan, o: BatchOptions = {}): Promise<BatchSummary> {
  const started = performance.now();
  const emit = o.onEvent ?? (() => {});
  const summary: BatchSummary = { total: plan.items.length + plan.refused.length, enhanced: 0, skipped: 0, failed: [], aborted: false, inputMegapixels: 0, seconds: 0 };
  const fail = (inputPath: string, error: EnhanceError) => {
    summary.failed.push({ inputPath, error });
    emit({ type: 'file-failed', inputPath, error });
  };
  for (const r of plan.refused) fail(r.inputPath, r.error);

  await removeAbandonedTemps(new Set(plan.items.map((i) => dirname(i.outputPath))));
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
    if (existsSync(item.outputPath)) {
      summary.skipped++;
      emit({ type: 'file-skipped', item });
      return;
    }
    const t0 = performance.now();
    inFlight.set(item.inputPath, { fraction: 0, megapixels: 0 });
    progress();
    try {
      try {
        await mkdir(dirname(item.outputPath), { recursive: true });
      } catch (e) {
        throw classifyError(e, dirname(item.outputPath), 'write');
      }
      const r = await enhanceImage(model, item.inputPath, item.outputPath, {
        ...o,
        format: item.format,
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
  await Promise.all(Array.from({ length: Math.max(1, o.jobs ?? 1) }, worker));
  summary.seconds = (performance.now() - started) / 1000;
  return summary;
}
