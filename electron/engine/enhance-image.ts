import { createHash, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { constants as bufferConstants } from 'node:buffer';
import { open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';
import { abortedError, classifyError, EngineError } from './errors.ts';
import {
  copyAlpha, decodeImage, defaultPixelLimit, encodeImage, flattenOnWhite, type FsPath, type OutputFormat, resizeRaw, shownPath, sixteenBitFormats, upscaleAlphaInto,
} from './image-io.ts';
import type { EngineModel } from './model-session.ts';
import { chromaSink, type RawImage, rgbSink, runTiled } from './tiling.ts';

/**
 * 512 px windows keep the context overhead of a 4-level U-Net near 1.4×. ONNX Runtime's peak grows
 * with the output tile, so ×4 models get 384 px: measured on 12 MP, 1.10 instead of 1.44 GB peak RSS
 * for 8% more time.
 */
export function defaultTileSizePx(scale: number): number {
  return scale === 4 ? 384 : 512;
}

export interface ImageProgress {
  /** 0–1 over the tiles of this image. */
  fraction: number;
  tilesDone: number;
  tilesTotal: number;
  inputMegapixels: number;
}

export interface EnhanceImageOptions {
  /** Output format; 'same' keeps the input's when it is one we write, else PNG. */
  format?: OutputFormat | 'same';
  quality?: number;
  tileSizePx?: number;
  /** Best quality: average over 8 rotations and mirrors of every tile, 8× the time. */
  selfEnsemble?: boolean;
  /** Largest input accepted, in pixels (sharp's limitInputPixels); 0 means no limit. */
  pixelLimit?: number;
  signal?: AbortSignal;
  onProgress?: (p: ImageProgress) => void;
  /** Called with the size of the finished, synced output just before it takes its name (the batch journals it). */
  beforeRename?: (bytes: number) => Promise<void>;
}

export interface EnhanceImageResult {
  inputWidthPx: number;
  inputHeightPx: number;
  outputWidthPx: number;
  outputHeightPx: number;
  format: OutputFormat;
  /** 16 for a 16-bit photo written as PNG or TIFF, else 8. */
  bitsPerSample: 8 | 16;
}

const writable: Record<string, OutputFormat> = { jpeg: 'jpeg', png: 'png', webp: 'webp', tiff: 'tiff', heif: 'avif' };

/** The format written for an input decoded as `sourceFormat`. */
export function resolveOutputFormat(requested: OutputFormat | 'same' | undefined, sourceFormat: string): OutputFormat {
  return requested === undefined || requested === 'same' ? (writable[sourceFormat] ?? 'png') : requested;
}

/**
 * `.<hash of the name>.<pid>.<random>.enhance-tmp`: hidden, short whatever the output is called
 * (its name may already be near the file system's 255-byte limit), and carrying this process's
 * id, so a later run can tell abandoned temp files from those of a live run.
 */
export function tempPathFor(outPath: string): string;
export function tempPathFor(outPath: FsPath): FsPath;
export function tempPathFor(outPath: FsPath): FsPath {
  const [dir, name] = splitPath(outPath);
  const temp = `.${createHash('sha256').update(name).digest('hex').slice(0, 12)}.${process.pid}.${randomBytes(4).toString('hex')}${tempSuffix}`;
  return typeof dir === 'string' ? join(dir, temp) : Buffer.concat([dir, Buffer.from(sep + temp)]);
}
export const tempSuffix = '.enhance-tmp';

/** Folder and name of a path; byte paths are split at the last separator. */
export function splitPath(path: FsPath): [FsPath, string | Buffer] {
  if (typeof path === 'string') return [dirname(path), basename(path)];
  const at = path.lastIndexOf(sep);
  return [at <= 0 ? Buffer.from(at === 0 ? sep : '.') : path.subarray(0, at), path.subarray(at + 1)];
}

/** Temp files being written now, so a forced exit can remove them before it goes. */
const liveTemps = new Set<FsPath>();

/** Removes the temp files of outputs in flight, synchronously: for a process that must exit at once (a second Ctrl-C). */
export function removeTempFilesNow(): void {
  for (const temp of liveTemps) rmSync(temp, { force: true });
  liveTemps.clear();
}

/**
 * Enhances one file into `outPath`, written to a temporary file beside it, synced and renamed, so
 * `outPath` either does not exist or is complete, also after a crash. Holds the decoded input and
 * the output pixels, never a float copy of the whole image.
 */
export async function enhanceImage(model: EngineModel, inPath: FsPath, outPath: FsPath, o: EnhanceImageOptions = {}): Promise<EnhanceImageResult> {
  const r = await renderPixels(model, inPath, o);
  if (o.signal?.aborted) throw abortedError(shownPath(inPath));
  const temp = tempPathFor(outPath);
  liveTemps.add(temp);
  try {
    await encodeImage(r.output, { path: inPath, keepIcc: r.keepIcc }, temp, { format: r.format, quality: o.quality });
    if (o.signal?.aborted) throw abortedError(shownPath(inPath));
    await syncFile(temp);
    if (o.beforeRename) await o.beforeRename((await stat(temp)).size);
    await rename(temp, outPath);
  } catch (e) {
    await rm(temp, { force: true });
    throw classifyError(e, shownPath(outPath), 'write');
  } finally {
    liveTemps.delete(temp);
  }
  return {
    inputWidthPx: r.inputWidthPx, inputHeightPx: r.inputHeightPx, outputWidthPx: r.output.widthPx, outputHeightPx: r.output.heightPx, format: r.format,
    bitsPerSample: r.output.data instanceof Uint16Array ? 16 : 8,
  };
}

/** Flushes a written file to the disk, so a rename after it never exposes an empty or partial file. */
export async function syncFile(path: FsPath): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Decode and inference; a separate function so the decoded input can be freed before encoding. */
async function renderPixels(model: EngineModel, inPath: FsPath, o: EnhanceImageOptions) {
  const d = model.descriptor;
  const source = await decodeImage(inPath, o.pixelLimit ?? defaultPixelLimit);
  if (o.signal?.aborted) throw abortedError(shownPath(inPath));
  const format = resolveOutputFormat(o.format, source.sourceFormat);
  const outW = source.widthPx * d.scale;
  const outH = source.heightPx * d.scale;
  const hasAlpha = source.channels === 4;
  // 16-bit photos stay 16-bit where the format holds it; the network reads them at full precision either way.
  const sixteen = source.data instanceof Uint16Array && sixteenBitFormats.includes(format);
  const samples = outW * outH * source.channels;
  if (samples * (sixteen ? 2 : 1) > bufferConstants.MAX_LENGTH) {
    const mp = (outW * outH) / 1e6;
    throw new EngineError('too-many-pixels', `the ×${d.scale} output would be ${outW}×${outH} (${mp.toFixed(0)} MP), more than one image in memory can hold (${(bufferConstants.MAX_LENGTH / 1e6 / source.channels / (sixteen ? 2 : 1)).toFixed(0)} MP here)`, shownPath(inPath));
  }
  const alloc = (n: number) => (sixteen ? new Uint16Array(n) : Buffer.alloc(n));
  const tileOptions = {
    tileSizePx: o.tileSizePx ?? defaultTileSizePx(d.scale),
    selfEnsemble: o.selfEnsemble,
    signal: o.signal,
    onTile: (done: number, total: number) =>
      o.onProgress?.({ fraction: done / total, tilesDone: done, tilesTotal: total, inputMegapixels: (source.widthPx * source.heightPx) / 1e6 }),
  };

  let output: RawImage;
  if (d.task === 'colorize') {
    output = { data: alloc(source.data.length), widthPx: outW, heightPx: outH, channels: source.channels };
    await runTiled(model, source, 1, tileOptions, chromaSink(source, output));
    if (hasAlpha) copyAlpha(source, output);
  } else if (d.resolution === 'pre-upsampled' && d.scale > 1) {
    // The network wants the photo already at the output size; alpha comes along in the resize.
    const big = await resizeRaw(source, outW, outH);
    output = { data: alloc(big.data.length), widthPx: outW, heightPx: outH, channels: big.channels };
    await runTiled(model, big, 1, tileOptions, rgbSink(output));
    if (hasAlpha) copyAlpha(big, output);
  } else {
    output = { data: alloc(samples), widthPx: outW, heightPx: outH, channels: source.channels };
    await runTiled(model, source, d.scale, tileOptions, rgbSink(output));
    if (hasAlpha) {
      if (d.scale === 1) copyAlpha(source, output);
      else await upscaleAlphaInto(source, output);
    }
  }
  if (hasAlpha && format === 'jpeg') output = flattenOnWhite(output);
  return { output, format, keepIcc: source.keepIcc, inputWidthPx: source.widthPx, inputHeightPx: source.heightPx };
}
