import * as tf from '@tensorflow/tfjs-core';
import type { RgbPixels } from '../../common/image-metrics.ts';
import type { FrozenEncoder } from '../losses/perceptual-loss.ts';

export const kidCropPx = 64;

/** Non-overlapping kidCropPx squares of an image, row by row (the leftover border is dropped). */
export function kidCrops(image: RgbPixels): Float32Array[] {
  const out: Float32Array[] = [];
  const d = image.data as ArrayLike<number>;
  for (let y = 0; y + kidCropPx <= image.height; y += kidCropPx) {
    for (let x = 0; x + kidCropPx <= image.width; x += kidCropPx) {
      const c = new Float32Array(kidCropPx * kidCropPx * 3);
      for (let r = 0; r < kidCropPx; r++) for (let i = 0; i < kidCropPx * 3; i++) c[r * kidCropPx * 3 + i] = d[((y + r) * image.width + x) * 3 + i] / 255;
      out.push(c);
    }
  }
  return out;
}

/** Spatially pooled encoder features of each crop: the classifier's view of the image's content and texture. */
export function pooledFeatures(encoder: FrozenEncoder, crops: Float32Array[]): Float32Array[] {
  const out: Float32Array[] = [];
  for (let i = 0; i < crops.length; i += 16) {
    const part = crops.slice(i, i + 16);
    const flat = new Float32Array(part.length * part[0].length);
    part.forEach((c, k) => flat.set(c, k * c.length));
    const f = tf.tidy(() => tf.mean(encoder.features(tf.tensor4d(flat, [part.length, kidCropPx, kidCropPx, 3])), [1, 2]));
    const values = f.dataSync() as Float32Array;
    const dim = f.shape[1]!;
    f.dispose();
    for (let k = 0; k < part.length; k++) out.push(values.slice(k * dim, (k + 1) * dim));
  }
  return out;
}

/** KID of output sets against one reference set, whose features are computed once. */
export function kidAgainst(encoder: FrozenEncoder, references: RgbPixels[]): (outputs: RgbPixels[]) => number {
  const referenceFeatures = pooledFeatures(encoder, references.flatMap(kidCrops));
  return (outputs) => kernelInceptionDistance(pooledFeatures(encoder, outputs.flatMap(kidCrops)), referenceFeatures);
}

/**
 * Kernel Inception Distance (Bińkowski et al. 2018): the unbiased MMD² between two feature sets
 * with the cubic polynomial kernel (x·y/d + 1)³. Unlike FID it is unbiased for small sets like Set14's crops.
 */
export function kernelInceptionDistance(x: Float32Array[], y: Float32Array[]): number {
  const d = x[0].length;
  const k = (a: Float32Array, b: Float32Array) => {
    let s = 0;
    for (let i = 0; i < d; i++) s += a[i] * b[i];
    return (s / d + 1) ** 3;
  };
  const within = (s: Float32Array[]) => {
    let sum = 0;
    for (let i = 0; i < s.length; i++) for (let j = 0; j < s.length; j++) if (i !== j) sum += k(s[i], s[j]);
    return sum / (s.length * (s.length - 1));
  };
  let cross = 0;
  for (const a of x) for (const b of y) cross += k(a, b);
  return within(x) + within(y) - (2 * cross) / (x.length * y.length);
}
