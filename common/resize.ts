// Bicubic resampling as MATLAB's imresize does it (Keys a = -0.5, kernel widened by 1/scale when
// shrinking so it antialiases, symmetric edges): the degradation super-resolution papers use, so our
// bicubic baseline and low-res inputs match published numbers. Pure TS: the UI can show it too.

function cubic(x: number): number {
  const ax = Math.abs(x);
  const ax2 = ax * ax;
  const ax3 = ax2 * ax;
  if (ax <= 1) return 1.5 * ax3 - 2.5 * ax2 + 1;
  if (ax <= 2) return -0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2;
  return 0;
}

interface Taps {
  /** For each output index, `width` source indices and weights. */
  index: Int32Array;
  weight: Float64Array;
  width: number;
}

function taps(inLen: number, outLen: number): Taps {
  const scale = outLen / inLen;
  const kernelWidth = scale < 1 ? 4 / scale : 4;
  const width = Math.ceil(kernelWidth) + 2;
  const index = new Int32Array(outLen * width);
  const weight = new Float64Array(outLen * width);
  for (let o = 0; o < outLen; o++) {
    // MATLAB's 1-based centre of output pixel o+1 in input coordinates.
    const u = (o + 1) / scale + 0.5 * (1 - 1 / scale);
    const left = Math.floor(u - kernelWidth / 2);
    let sum = 0;
    for (let k = 0; k < width; k++) {
      const j = left + k;
      const w = scale < 1 ? scale * cubic(scale * (u - j)) : cubic(u - j);
      // Symmetric edge: 1-based j mirrored into 1..inLen, then 0-based.
      let m = j - 1;
      const period = 2 * inLen;
      m = ((m % period) + period) % period;
      if (m >= inLen) m = period - 1 - m;
      index[o * width + k] = m;
      weight[o * width + k] = w;
      sum += w;
    }
    for (let k = 0; k < width; k++) weight[o * width + k] /= sum;
  }
  return { index, weight, width };
}

/** Resizes interleaved HWC float data (any channel count). */
export function resizeBicubic(data: ArrayLike<number>, width: number, height: number, channels: number, outWidth: number, outHeight: number): Float32Array {
  const tx = taps(width, outWidth);
  const ty = taps(height, outHeight);
  const mid = new Float64Array(outWidth * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < outWidth; x++) {
      for (let c = 0; c < channels; c++) {
        let acc = 0;
        for (let k = 0; k < tx.width; k++) acc += tx.weight[x * tx.width + k] * data[(y * width + tx.index[x * tx.width + k]) * channels + c];
        mid[(y * outWidth + x) * channels + c] = acc;
      }
    }
  }
  const out = new Float32Array(outWidth * outHeight * channels);
  for (let y = 0; y < outHeight; y++) {
    for (let x = 0; x < outWidth; x++) {
      for (let c = 0; c < channels; c++) {
        let acc = 0;
        for (let k = 0; k < ty.width; k++) acc += ty.weight[y * ty.width + k] * mid[(ty.index[y * ty.width + k] * outWidth + x) * channels + c];
        out[(y * outWidth + x) * channels + c] = acc;
      }
    }
  }
  return out;
}

/**
 * Bicubic upsampling by an integer `scale` as a 5-tap filter per output phase: weights[p][d] is the
 * weight of input pixel i + d - 2 for output pixel scale·i + p (imresize's geometry, Keys a = -0.5).
 * Lets a network start exactly at bicubic with a 5×5 convolution and a pixel shuffle.
 */
export function bicubicPhaseWeights(scale: number): number[][] {
  return Array.from({ length: scale }, (_, p) => {
    const frac = (p + 0.5) / scale - 0.5;
    const w = [-2, -1, 0, 1, 2].map((d) => cubic(frac - d));
    const sum = w.reduce((a, b) => a + b, 0);
    return w.map((v) => v / sum);
  });
}
