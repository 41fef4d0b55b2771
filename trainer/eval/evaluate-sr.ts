import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import { psnrY, ssimY } from '../../common/image-metrics.ts';
import { resizeBicubic } from '../../common/resize.ts';
import { importImageFile } from '../data/import-images.ts';
import { degrade } from '../data/tasks.ts';
import type { TfModel } from '../models/tf-model.ts';
import { Rng } from '../rng.ts';

export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

export interface SrEvalImage {
  name: string;
  /** Cropped to a multiple of the scale ("modcrop"), as SR papers do. */
  hr: RgbImage;
  /** Float HWC in [0, 1], made by the same downscale as training inputs. */
  lr: Float32Array;
  lrWidth: number;
  lrHeight: number;
}

export async function loadSrEvalSet(dir: string, scale: 2 | 4): Promise<SrEvalImage[]> {
  const out: SrEvalImage[] = [];
  for (const name of readdirSync(dir).filter((f) => /\.(png|jpe?g|bmp|tiff?)$/i.test(f)).sort()) {
    const r = await importImageFile(join(dir, name));
    if (!('image' in r)) throw new Error(`${join(dir, name)}: ${r.reason}`);
    const { image } = r;
    const width = image.width - (image.width % scale);
    const height = image.height - (image.height % scale);
    const hr = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
      .extract({ left: 0, top: 0, width, height }).raw().toBuffer();
    const pair = await degrade({ data: hr, width, height }, new Rng(0), { task: 'upscale', scale });
    out.push({ name, hr: { data: new Uint8Array(hr), width, height }, lr: pair.input, lrWidth: width / scale, lrHeight: height / scale });
  }
  return out;
}

const toU8 = (f: ArrayLike<number>): Uint8Array => Uint8Array.from(f, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255));

/**
 * Runs an upscaler on a whole image, mirror-padding to the model's size multiple. A 'pre-upsampled'
 * model gets the bicubic-resized input, as in training.
 */
export async function upscaleWithModel(model: TfModel, img: SrEvalImage, scale: number): Promise<RgbImage> {
  const d = model.def.descriptor!;
  const pre = d.resolution === 'pre-upsampled';
  const [w, h] = pre ? [img.lrWidth * scale, img.lrHeight * scale] : [img.lrWidth, img.lrHeight];
  const input = pre ? resizeBicubic(img.lr, img.lrWidth, img.lrHeight, 3, w, h) : img.lr;
  const m = d.sizeMultiplePx;
  const ph = (m - (h % m)) % m;
  const pw = (m - (w % m)) % m;
  const y = tf.tidy(() => {
    const x = tf.tensor4d(input, [1, h, w, 3]);
    const padded = ph || pw ? tf.mirrorPad(x, [[0, 0], [0, ph], [0, pw], [0, 0]], 'reflect') : x;
    return tf.slice(model.apply(padded), [0, 0, 0, 0], [1, img.lrHeight * scale, img.lrWidth * scale, 3]);
  });
  try {
    return { data: toU8(await y.data()), width: img.lrWidth * scale, height: img.lrHeight * scale };
  } finally {
    y.dispose();
  }
}

export async function upscaleBicubic(img: SrEvalImage, scale: number): Promise<RgbImage> {
  const up = resizeBicubic(img.lr, img.lrWidth, img.lrHeight, 3, img.lrWidth * scale, img.lrHeight * scale);
  return { data: toU8(up), width: img.lrWidth * scale, height: img.lrHeight * scale };
}

export interface SrScores {
  psnr: number;
  ssim: number;
  perImage: { name: string; psnr: number; ssim: number }[];
}

/** Y-channel PSNR and SSIM with `scale` border pixels cropped: the standard SR protocol. */
export async function scoreSr(set: SrEvalImage[], scale: number, upscale: (img: SrEvalImage) => Promise<RgbImage>): Promise<SrScores> {
  const perImage: SrScores['perImage'] = [];
  for (const img of set) {
    const out = await upscale(img);
    perImage.push({ name: img.name, psnr: psnrY(out, img.hr, { cropBorderPx: scale }), ssim: ssimY(out, img.hr, { cropBorderPx: scale }) });
  }
  const mean = (k: 'psnr' | 'ssim') => perImage.reduce((a, r) => a + r[k], 0) / perImage.length;
  return { psnr: mean('psnr'), ssim: mean('ssim'), perImage };
}
