import { access, constants, readFile, stat, writeFile } from 'node:fs/promises';
import sharp, { type SharpOptions } from 'sharp';
import { EngineError, classifyError } from './errors.ts';
import { sampleMax, type RawImage } from './tiling.ts';
import { copyExifIntoTiff, type ExifTags, exifTagsOfBlock, exifTagsOfTiff } from './tiff-exif.ts';

export type OutputFormat = 'png' | 'jpeg' | 'webp' | 'avif' | 'tiff';
export const outputFormats: readonly OutputFormat[] = ['png', 'jpeg', 'webp', 'avif', 'tiff'];
/** The formats written with 16 bits a sample when the photo has them; the others hold 8. */
export const sixteenBitFormats: readonly OutputFormat[] = ['png', 'tiff'];

/**
 * A path as Node's fs takes it: a string, or the raw bytes of a name that is not valid UTF-8
 * (Linux allows any bytes; a string would turn them into U+FFFD and name another file).
 */
export type FsPath = string | Buffer;

/** For messages: the path as text, with U+FFFD where its bytes are not UTF-8. */
export function shownPath(path: FsPath): string {
  return typeof path === 'string' ? path : path.toString('utf8');
}

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

/** What sharp opens: the path, or the file's bytes when the path is not a string sharp can take. */
async function sharpInput(path: FsPath): Promise<string | Buffer> {
  return typeof path === 'string' ? path : readFile(path);
}

/**
 * Decodes to sRGB(A) with EXIF orientation applied, 16-bit photos as 16-bit and the rest as 8-bit:
 * CMYK and grey are converted, an alpha channel is kept as the fourth channel. Animations are
 * refused rather than cut to their first frame.
 */
export async function decodeImage(path: FsPath, limitPixels = defaultPixelLimit): Promise<DecodedImage> {
  const shown = shownPath(path);
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new EngineError('unreadable', 'not a regular file', shown);
    if (s.size === 0) throw new EngineError('empty-file', 'the file is empty (0 bytes)', shown);
    // sharp reports an unreadable file as an unknown format; ask the OS first for the real reason.
    await access(path, constants.R_OK);
    const input = await sharpInput(path);
    // Header only, unlimited: the limit is checked below with the numbers in the message.
    const meta = await sharp(input, inputOptions(0, false)).metadata();
    const pixels = meta.width * meta.height;
    if (limitPixels > 0 && pixels > limitPixels) {
      throw new EngineError('too-many-pixels', `${meta.width}×${meta.height} is ${(pixels / 1e6).toFixed(1)} MP, over the ${(limitPixels / 1e6).toFixed(1)} MP limit`, shown);
    }
    if ((meta.format === 'gif' || meta.format === 'webp') && (meta.pages ?? 1) > 1) {
      throw new EngineError('unsupported', `an animation of ${meta.pages} frames; only still images are enhanced (export the frame you want first)`, shown);
    }
    const sixteen = meta.depth === 'ushort';
    const keepIcc = meta.icc !== undefined && (meta.space === 'srgb' || meta.space === 'rgb16');
    const { data, info } = await sharp(input, inputOptions(limitPixels, keepIcc))
      .autoOrient()
      .toColourspace(sixteen ? 'rgb16' : 'srgb')
      .raw({ depth: sixteen ? 'ushort' : 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 && info.channels !== 4) {
      throw new EngineError('unsupported', `${info.channels}-channel images are not supported`, shown);
    }
    return { data: sixteen ? asUint16(data) : data, widthPx: info.width, heightPx: info.height, channels: info.channels, sourceFormat: meta.format, keepIcc };
  } catch (e) {
    throw classifyError(e, shown, 'read');
  }
}

function asUint16(b: Buffer): Uint16Array {
  // A view needs 2-byte alignment; libvips' buffers have it, a copy covers any that does not.
  return b.byteOffset % 2 === 0 ? new Uint16Array(b.buffer, b.byteOffset, b.length / 2) : new Uint16Array(Uint8Array.from(b).buffer);
}

/** A 16-bit sample rounded to 8 bits, v·255/65535 (sharp's own cast drops the low byte instead). */
const to8 = (v: number) => Math.floor((v * 255 + 32767) / 65535);

/** 16-bit pixels rounded to 8 bits; 8-bit ones as they are. */
export function to8Bit(image: RawImage): RawImage {
  if (!(image.data instanceof Uint16Array)) return image;
  const src = image.data;
  const out = Buffer.allocUnsafe(src.length);
  for (let i = 0; i < src.length; i++) out[i] = to8(src[i]);
  return { data: out, widthPx: image.widthPx, heightPx: image.heightPx, channels: image.channels };
}

/** Copies the alpha channel (4th) of `from` into `to`, same size, converting 16 to 8 bits if needed. */
export function copyAlpha(from: RawImage, to: RawImage): void {
  const down = from.data instanceof Uint16Array && !(to.data instanceof Uint16Array);
  for (let i = 3; i < to.data.length; i += 4) to.data[i] = down ? to8(from.data[i]) : from.data[i];
}

/** sharp's raw input for our pixels: 16-bit data goes in as a Uint16Array, which sharp reads as such. */
function rawInput(image: RawImage): { data: Buffer | Uint16Array; raw: { width: number; height: number; channels: 3 | 4 } } {
  const d = image.data;
  return {
    data: d instanceof Uint16Array ? d : asBuffer(d),
    raw: { width: image.widthPx, height: image.heightPx, channels: image.channels as 3 | 4 },
  };
}

/** Resizes with Lanczos-3, keeping the bit depth; sharp premultiplies alpha for this, so edges of cut-outs stay clean. */
export async function resizeRaw(image: RawImage, widthPx: number, heightPx: number): Promise<RawImage> {
  const sixteen = image.data instanceof Uint16Array;
  const r = rawInput(image);
  const { data, info } = await sharp(r.data, { raw: r.raw })
    .resize(widthPx, heightPx, { kernel: 'lanczos3', fit: 'fill' })
    .toColourspace(sixteen ? 'rgb16' : 'srgb')
    .raw({ depth: sixteen ? 'ushort' : 'uchar' })
    .toBuffer({ resolveWithObject: true });
  return { data: sixteen ? asUint16(data) : data, widthPx: info.width, heightPx: info.height, channels: info.channels };
}

/** The alpha channel (4th) resized with Lanczos-3 into the alpha slot of `dest`. */
export async function upscaleAlphaInto(source: RawImage, dest: RawImage): Promise<void> {
  const sixteen = source.data instanceof Uint16Array;
  const r = rawInput(source);
  const alpha = await sharp(r.data, { raw: r.raw })
    .extractChannel(3)
    .resize(dest.widthPx, dest.heightPx, { kernel: 'lanczos3', fit: 'fill' })
    .raw({ depth: sixteen ? 'ushort' : 'uchar' })
    .toBuffer();
  const a = sixteen ? asUint16(alpha) : alpha;
  const down = sixteen && !(dest.data instanceof Uint16Array);
  for (let i = 0, o = 3; i < a.length; i++, o += 4) dest.data[o] = down ? to8(a[i]) : a[i];
}

/** For formats without alpha: composite over white, as a viewer would show the cut-out. */
export function flattenOnWhite(image: RawImage): RawImage {
  const max = sampleMax(image);
  const n = image.widthPx * image.heightPx * 3;
  const out = image.data instanceof Uint16Array ? new Uint16Array(n) : Buffer.allocUnsafe(n);
  for (let i = 0, o = 0; o < out.length; i += 4, o += 3) {
    const a = image.data[i + 3];
    for (let c = 0; c < 3; c++) out[o + c] = Math.round((image.data[i + c] * a + max * (max - a)) / max);
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
 * 16-bit pixels stay 16-bit in PNG and TIFF and are rounded to 8 bits for the other formats.
 */
export async function encodeImage(image: RawImage, original: { path: FsPath; keepIcc: boolean }, outPath: FsPath, o: EncodeOptions): Promise<void> {
  const shownOut = shownPath(outPath);
  const maxSide = maxSidePx[o.format];
  if (maxSide !== undefined && Math.max(image.widthPx, image.heightPx) > maxSide) {
    throw new EngineError('unsupported', `${o.format.toUpperCase()} holds at most ${maxSide} px a side, the output is ${image.widthPx}×${image.heightPx}; choose another format`, shownOut);
  }
  const sixteen = image.data instanceof Uint16Array && sixteenBitFormats.includes(o.format);
  const pixels = sixteen ? image : to8Bit(image);
  const channels = pixels.channels as 3 | 4;
  let originalInput: string | Buffer;
  let exifTags: ExifTags | undefined;
  try {
    originalInput = await sharpInput(original.path);
    if (o.format === 'tiff') exifTags = await exifTagsOf(originalInput);
  } catch (e) {
    throw classifyError(e, shownPath(original.path), 'read');
  }
  let p = sharp(originalInput, inputOptions(0, true)).autoOrient();
  p = original.keepIcc ? p.keepMetadata() : p.keepExif().keepXmp();
  p = p.pipelineColourspace(sixteen ? 'rgb16' : 'srgb');
  // Flattening runs before the resize and the OR below; removeAlpha only after them, too late to
  // match a 3-channel output (an RGBA or grey+alpha original to JPEG).
  if (channels === 3) p = p.flatten();
  p = p.resize(pixels.widthPx, pixels.heightPx, { kernel: 'nearest', fit: 'fill' });
  if (channels === 4) p = p.ensureAlpha();
  const zeros = new Array<number>(channels).fill(0);
  const r = rawInput(pixels);
  p = p
    .linear(zeros, zeros)
    .boolean(r.data as Buffer, 'or', { raw: r.raw })
    .toColourspace(sixteen ? 'rgb16' : 'srgb');
  const q = o.quality;
  switch (o.format) {
    case 'png': p = p.png(); break;
    // Optimised Huffman tables need every DCT coefficient in memory at once (2 bytes × 3 per
    // pixel at quality ≥ 90): 1.2 GB for a 200 MP output. Above 50 MP the file is ~5% larger instead.
    case 'jpeg': p = p.jpeg({ quality: q ?? 90, optimiseCoding: pixels.widthPx * pixels.heightPx <= 50e6 }); break;
    case 'webp': p = p.webp({ quality: q ?? 90 }); break;
    case 'avif': p = p.avif({ quality: q ?? 70 }); break;
    case 'tiff': p = p.tiff({ compression: 'lzw' }); break;
  }
  try {
    // sharp writes only to string paths; a name that is not UTF-8 gets the bytes written by Node.
    if (typeof outPath === 'string') await p.toFile(outPath);
    else await writeFile(outPath, await p.toBuffer());
    await copyExifIntoTiff(outPath, exifTags);
  } catch (e) {
    const err = classifyError(e, shownOut, 'write');
    if (o.format === 'webp' && err.code === 'unsupported') err.message = `the WebP encoder cannot hold this ${pixels.widthPx}×${pixels.heightPx} image (${err.message}); choose another format`;
    throw err;
  }
}

/** The original's EXIF tags: from sharp's EXIF block, or (libvips reads none from TIFF) from a TIFF's own tags. */
async function exifTagsOf(input: string | Buffer): Promise<ExifTags | undefined> {
  const meta = await sharp(input).metadata();
  return meta.format === 'tiff' ? exifTagsOfTiff(input) : exifTagsOfBlock(meta.exif);
}

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
