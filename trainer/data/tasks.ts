import sharp from 'sharp';
import type { Task } from '../../common/model-descriptor.ts';
import { rgbToYcc } from '../../common/color.ts';
import { resizeBicubic } from '../../common/resize.ts';
import { dihedral } from '../../common/dihedral.ts';
import type { Rng } from '../rng.ts';

/** How training inputs are made from clean photos. */
export interface DegradeOptions {
  task: Task;
  /** 2 or 4 for upscale; 1 otherwise. */
  scale: 1 | 2 | 4;
  /** Upscale: the model takes the low-res image ('low-res') or it resized back up ('pre-upsampled'). */
  resolution?: 'low-res' | 'pre-upsampled';
  /** Decrappify: JPEG quality drawn uniformly from this range. */
  jpegQuality?: [number, number];
  /** Upscale: Gaussian blur sigma (low-res pixels) drawn from [0, max] before downscaling. */
  blurSigmaMax?: number;
  /** Gaussian noise std (0–1 scale) drawn from [0, max], added to the input. */
  noiseStdMax?: number;
}

/** An (input, target) pair, interleaved HWC float32 in [0, 1] (chroma in [-0.5, 0.5]). */
export interface Pair {
  input: Float32Array;
  inputShape: [number, number, number];
  target: Float32Array;
  targetShape: [number, number, number];
}

export interface Crop {
  data: Uint8Array;
  width: number;
  height: number;
}

const toFloat = (u8: Uint8Array | Buffer): Float32Array => Float32Array.from(u8, (v) => v / 255);

function addNoise(x: Float32Array, rng: Rng, maxStd: number | undefined): void {
  if (!maxStd) return;
  const std = rng.next() * maxStd;
  for (let i = 0; i < x.length; i++) x[i] += std * rng.normal();
}

/**
 * Degrades a clean RGB crop into an input for `o.task`. Upscale downscales with MATLAB-style
 * antialiased bicubic (the SR papers' degradation); decrappify re-encodes with libjpeg-turbo's baseline 4:2:0 JPEG, as cameras and
 * browsers do; colorize keeps luminance only and targets chroma.
 */
export async function degrade(crop: Crop, rng: Rng, o: DegradeOptions): Promise<Pair> {
  const { width: w, height: h } = crop;
  const raw = { raw: { width: w, height: h, channels: 3 as const } };
  switch (o.task) {
    case 'upscale': {
      const s = o.scale;
      if (w % s || h % s) throw new Error(`crop ${w}×${h} is not a multiple of the scale ${s}`);
      const sigma = rng.next() * (o.blurSigmaMax ?? 0);
      const hr = sigma >= 0.3 ? await sharp(crop.data, raw).blur(sigma * s).raw().toBuffer() : crop.data;
      // Low-res photos are 8-bit: round, as the standard SR protocol does.
      const lr = resizeBicubic(hr, w, h, 3, w / s, h / s).map((v) => Math.min(255, Math.max(0, Math.round(v))) / 255);
      const input = o.resolution === 'pre-upsampled' ? resizeBicubic(lr, w / s, h / s, 3, w, h) : lr;
      addNoise(input, rng, o.noiseStdMax);
      const side = o.resolution === 'pre-upsampled' ? 1 : s;
      return { input, inputShape: [h / side, w / side, 3], target: toFloat(crop.data), targetShape: [h, w, 3] };
    }
    case 'decrappify': {
      const [qLo, qHi] = o.jpegQuality ?? [10, 60];
      const quality = Math.round(qLo + rng.next() * (qHi - qLo));
      const jpeg = await sharp(crop.data, raw).jpeg({ quality, chromaSubsampling: '4:2:0' }).toBuffer();
      const input = toFloat(await sharp(jpeg).raw().toBuffer());
      addNoise(input, rng, o.noiseStdMax);
      return { input, inputShape: [h, w, 3], target: toFloat(crop.data), targetShape: [h, w, 3] };
    }
    case 'colorize': {
      const input = new Float32Array(w * h);
      const target = new Float32Array(w * h * 2);
      for (let i = 0; i < w * h; i++) {
        const [y, cb, cr] = rgbToYcc(crop.data[3 * i] / 255, crop.data[3 * i + 1] / 255, crop.data[3 * i + 2] / 255);
        input[i] = y;
        target[2 * i] = cb;
        target[2 * i + 1] = cr;
      }
      return { input, inputShape: [h, w, 1], target, targetShape: [h, w, 2] };
    }
  }
}

/** The same random symmetry applied to input and target, so they stay aligned. */
export function augmentPair(p: Pair, rng: Rng): Pair {
  const k = rng.int(8);
  const a = dihedral(p.input, p.inputShape[0], p.inputShape[1], p.inputShape[2], k);
  const b = dihedral(p.target, p.targetShape[0], p.targetShape[1], p.targetShape[2], k);
  return { input: a.data, inputShape: [a.height, a.width, p.inputShape[2]], target: b.data, targetShape: [b.height, b.width, p.targetShape[2]] };
}
