import { access, constants, stat } from 'node:fs/promises';
import sharp, { type SharpOptions } from 'sharp';
import { EngineError, classifyError } from './errors.ts';
import type { RawImage } from './tiling.ts';

export type OutputFormat = 'png' | 'jpeg' | 'webp' | 'avif' | 'tiff';
export const outputFormats: readonly OutputFormat[] = ['png', 'jpeg', 'webp', 'avif', 'tiff'];

/** sharp's default: 16383², about 268 MP. */
export const defaultPixelLimit = 0x3fff * 0x3fff;

export interface DecodedImage extends RawImage {
  /** The decoder that read it: 'jpeg', 'png', 'webp', 'heif' (AVIF), 'tiff', 'gif', … */
  sourceFormat: string;
  /**
   * RGB inputs keep their own ICC profile: pixels stay in that profile's encoding end to end and
   * the profile is re-attached, so no gamut is clipped. Other spaces (CMYK, grey) become sRGB.
   */
  keepIcc: boolean;
}

/** Input options for every open of a user file: strict about damage, bounded in size. */
function inputOptions(limitPixels: number, ignoreIcc: boolean): SharpOptions {
  return { limitInputPixels: limitPixels, failOn: 'error', ignoreIcc, sequentialRead: true };
}

/**
 * Decodes to 8-bit sRGB(A) with EXIF orientation applied: 16-bit is scaled down, CMYK and grey
 * are converted, an alpha channel is kept as the fourth channel.
 */
export async function decodeImage(path: string, limitPixels = defaultPixelLimit): Promise<DecodedImage> {
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new EngineError('unreadable', 'not a regular file', path);
    if (s.size === 0) throw new EngineError('empty-file', 'the file is empty (0 bytes)', path);
    // sharp reports an unreadable file as an unknown format; ask the OS first for the real reason.
    await access(path, constants.R_OK);
    // Header only, unlimited: the limit is checked below with the numbers in the message.
    const meta = await sharp(path, inputOptions(0, false)).metadata();
    const pixels = meta.width * meta.height;
    if (limitPixels > 0 && pixels > limitPixels) {
      throw new EngineError('too-many-pixels', `${meta.width}×${meta.height} is ${(pixels / 1e6).toFixed(1)} MP, over the ${(limitPixels / 1e6).toFixed(1)} MP limit`, path);
    }
    const keepIcc = meta.icc !== undefined && (meta.space === 'srgb' || meta.space === 'rgb16');
    const { data, info } = await sharp(path, inputOptions(limitPixels, keepIcc))
      .autoOrient()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 && info.channels !== 4) {
      throw new EngineError('unsupported', `${info.channels}-channel images are not supported`, path);
    }
    return { data, widthPx: info.width, heightPx: info.height, channels: info.channels, sourceFormat: meta.format, keepIcc };
  } catch (e) {
    throw classifyError(e, path, 'read');
  }
}

/** Resizes with Lanczos-3; sharp premultiplies alpha for this, so edges of cut-outs stay clean. */
export async function resizeRaw(image: RawImage, widthPx: number, heightPx: number): Promise<RawImage> {
  const { data, info } = await sharp(asBuffer(image.data), { raw: { width: image.widthPx, height: image.heightPx, channels: image.channels as 3 | 4 } })
    .resize(widthPx, heightPx, { kernel: 'lanczos3', fit: 'fill' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, widthPx: info.width, heightPx: info.height, channels: info.channels };
}

/** The alpha channel (4th) resized with Lanczos-3 into the alpha slot of `dest`. */
export async function upscaleAlphaInto(source: RawImage, dest: RawImage): Promise<void> {
  const alpha = await sharp(asBuffer(source.data), { raw: { width: source.widthPx, height: source.heightPx, channels: 4 } })
    .extractChannel(3)
    .resize(dest.widthPx, dest.heightPx, { kernel: 'lanczos3', fit: 'fill' })
    .raw()
    .toBuffer();
  for (let i = 0, o = 3; i < alpha.length; i++, o += 4) dest.data[o] = alpha[i];
}

/** For formats without alpha: composite over white, as a viewer would show the cut-out. */
export function flattenOnWhite(image: RawImage): RawImage {
  const out = Buffer.allocUnsafe(image.widthPx * image.heightPx * 3);
  for (let i = 0, o = 0; o < out.length; i += 4, o += 3) {
    const a = image.data[i + 3];
    for (let c = 0; c < 3; c++) out[o + c] = Math.round((image.data[i + c] * a + 255 * (255 - a)) / 255);
  }
  return { data: out, widthPx: image.widthPx, heightPx: image.heightPx, channels: 3 };
}

const maxSidePx: Partial<Record<OutputFormat, number>> = { jpeg: 65535, webp: 16383 };

export interface EncodeOptions {
  format: OutputFormat;
  /** 1–100 for JPEG, WebP and AVIF; PNG and TIFF (LZW) are lossless and ignore it. */
  quality?: number;
}

/**
 * Writes `image` to `outPath` with the metadata of the original file. libvips carries metadata
 * only along a pipeline that starts from a decoded file, so the original is opened again for its
 * EXIF/XMP/IPTC/ICC and orientation; its pixels are zeroed and OR-ed with ours, which leaves ours
 * exactly. Rotation is applied here as in decodeImage, and sharp then drops the orientation tag.
 */
export async function encodeImage(image: RawImage, original: { path: string; keepIcc: boolean }, outPath: string, o: EncodeOptions): Promise<void> {
  const maxSide = maxSidePx[o.format];
  if (maxSide !== undefined && Math.max(image.widthPx, image.heightPx) > maxSide) {
    throw new EngineError('unsupported', `${o.format.toUpperCase()} holds at most ${maxSide} px a side, the output is ${image.widthPx}×${image.heightPx}; choose another format`, outPath);
  }
  const channels = image.channels as 3 | 4;
  let p = sharp(original.path, inputOptions(0, true)).autoOrient();
  p = original.keepIcc ? p.keepMetadata() : p.keepExif().keepXmp();
  p = p.pipelineColourspace('srgb').resize(image.widthPx, image.heightPx, { kernel: 'nearest', fit: 'fill' });
  p = channels === 4 ? p.ensureAlpha() : p.removeAlpha();
  const zeros = new Array<number>(channels).fill(0);
  p = p
    .linear(zeros, zeros)
    .boolean(asBuffer(image.data), 'or', { raw: { width: image.widthPx, height: image.heightPx, channels } })
    .toColourspace('srgb');
  const q = o.quality;
  switch (o.format) {
    case 'png': p = p.png(); break;
    // Optimised Huffman tables need every DCT coefficient in memory at once (2 bytes × 3 per
    // pixel at quality ≥ 90): 1.2 GB for a 200 MP output. Above 50 MP the file is ~5% larger instead.
    case 'jpeg': p = p.jpeg({ quality: q ?? 90, optimiseCoding: image.widthPx * image.heightPx <= 50e6 }); break;
    case 'webp': p = p.webp({ quality: q ?? 90 }); break;
    case 'avif': p = p.avif({ quality: q ?? 70 }); break;
    case 'tiff': p = p.tiff({ compression: 'lzw' }); break;
  }
  try {
    await p.toFile(outPath);
  } catch (e) {
    const err = classifyError(e, outPath, 'write');
    if (o.format === 'webp' && err.code === 'unsupported') err.message = `the WebP encoder cannot hold this ${image.widthPx}×${image.heightPx} image (${err.message}); choose another format`;
    throw err;
  }
}

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
