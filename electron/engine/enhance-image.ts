import { randomBytes } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { abortedError, classifyError } from './errors.ts';
import { decodeImage, defaultPixelLimit, encodeImage, flattenOnWhite, type OutputFormat, resizeRaw, upscaleAlphaInto } from './image-io.ts';
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
  /** Largest input accepted, in pixels (sharp's limitInputPixels); 0 means no limit. */
  pixelLimit?: number;
  signal?: AbortSignal;
  onProgress?: (p: ImageProgress) => void;
}

export interface EnhanceImageResult {
  inputWidthPx: number;
  inputHeightPx: number;
  outputWidthPx: number;
  outputHeightPx: number;
  format: OutputFormat;
}

const writable: Record<string, OutputFormat> = { jpeg: 'jpeg', png: 'png', webp: 'webp', tiff: 'tiff', heif: 'avif' };

/** The format written for an input decoded as `sourceFormat`. */
export function resolveOutputFormat(requested: OutputFormat | 'same' | undefined, sourceFormat: string): OutputFormat {
  return requested === undefined || requested === 'same' ? (writable[sourceFormat] ?? 'png') : requested;
}

/** Hidden, named after the target and this process, so a later run can tell abandoned temp files. */
export function tempPathFor(outPath: string): string {
  return join(dirname(outPath), `.${basename(outPath)}.${process.pid}.${randomBytes(4).toString('hex')}${tempSuffix}`);
}
export const tempSuffix = '.enhance-tmp';

/**
 * Enhances one file into `outPath`, written to a temporary file beside it and renamed, so
 * `outPath` either does not exist or is complete. Holds the decoded input and the 8-bit output,
 * never a float copy of the whole image.
 */
export async function enhanceImage(model: EngineModel, inPath: string, outPath: string, o: EnhanceImageOptions = {}): Promise<EnhanceImageResult> {
  const r = await renderPixels(model, inPath, o);
  if (o.signal?.aborted) throw abortedError(inPath);
  const temp = tempPathFor(outPath);
  try {
    await encodeImage(r.output, { path: inPath, keepIcc: r.keepIcc }, temp, { format: r.format, quality: o.quality });
    if (o.signal?.aborted) throw abortedError(inPath);
    await rename(temp, outPath);
  } catch (e) {
    await rm(temp, { force: true });
    throw classifyError(e, outPath, 'write');
  }
  return { inputWidthPx: r.inputWidthPx, inputHeightPx: r.inputHeightPx, outputWidthPx: r.output.widthPx, outputHeightPx: r.output.heightPx, format: r.format };
}

/** Decode and inference; a separate function so the decoded input can be freed before encoding. */
async function renderPixels(model: EngineModel, inPath: string, o: EnhanceImageOptions) {
  const d = model.descriptor;
  const source = await decodeImage(inPath, o.pixelLimit ?? defaultPixelLimit);
  if (o.signal?.aborted) throw abortedError(inPath);
  const format = resolveOutputFormat(o.format, source.sourceFormat);
  const outW = source.widthPx * d.scale;
  const outH = source.heightPx * d.scale;
  const hasAlpha = source.channels === 4;
  const tileOptions = {
    tileSizePx: o.tileSizePx ?? defaultTileSizePx(d.scale),
    signal: o.signal,
    onTile: (done: number, total: number) =>
      o.onProgress?.({ fraction: done / total, tilesDone: done, tilesTotal: total, inputMegapixels: (source.widthPx * source.heightPx) / 1e6 }),
  };

  let output: RawImage;
  if (d.task === 'colorize') {
    output = { data: Buffer.alloc(source.data.length), widthPx: outW, heightPx: outH, channels: source.channels };
    await runTiled(model, source, 1, tileOptions, chromaSink(source, output));
    if (hasAlpha) for (let i = 3; i < output.data.length; i += 4) output.data[i] = source.data[i];
  } else if (d.resolution === 'pre-upsampled' && d.scale > 1) {
    // The network wants the photo already at the output size; alpha comes along in the resize.
    const big = await resizeRaw(source, outW, outH);
    output = { data: Buffer.alloc(big.data.length), widthPx: outW, heightPx: outH, channels: big.channels };
    await runTiled(model, big, 1, tileOptions, rgbSink(output));
    if (hasAlpha) for (let i = 3; i < output.data.length; i += 4) output.data[i] = big.data[i];
  } else {
    output = { data: Buffer.alloc(outW * outH * source.channels), widthPx: outW, heightPx: outH, channels: source.channels };
    await runTiled(model, source, d.scale, tileOptions, rgbSink(output));
    if (hasAlpha) {
      if (d.scale === 1) for (let i = 3; i < output.data.length; i += 4) output.data[i] = source.data[i];
      else await upscaleAlphaInto(source, output);
    }
  }
  if (hasAlpha && format === 'jpeg') output = flattenOnWhite(output);
  return { output, format, keepIcc: source.keepIcc, inputWidthPx: source.widthPx, inputHeightPx: source.heightPx };
}
