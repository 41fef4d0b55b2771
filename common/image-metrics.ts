// Image-quality metrics as super-resolution papers report them. Pure TS: the trainer, the benchmarks and
// the UI all import this, so no Node or DOM APIs.

/** Interleaved RGB, row-major, values 0..255 (integers or not). */
export interface RgbPixels {
  data: ArrayLike<number>;
  width: number;
  height: number;
  /** Must be 3 when given; the field exists so callers holding RGBA get an error, not nonsense. */
  channels?: number;
}

export interface MetricOptions {
  /** Pixels dropped from every side before measuring; SR convention: the scale factor. */
  cropBorderPx?: number;
}

const PEAK = 255;
const SSIM_WINDOW_SIZE = 11;
const SSIM_SIGMA = 1.5;
const SSIM_C1 = (0.01 * PEAK) ** 2;
const SSIM_C2 = (0.03 * PEAK) ** 2;

function checkPair(a: RgbPixels, b: RgbPixels, cropBorderPx: number): { width: number; height: number } {
  for (const image of [a, b]) {
    if ((image.channels ?? 3) !== 3) throw new RangeError(`image metrics need 3 channels, got ${image.channels}`);
    if (image.data.length !== image.width * image.height * 3) {
      throw new RangeError(`image data has ${image.data.length} values, expected ${image.width}x${image.height}x3`);
    }
  }
  if (a.width !== b.width || a.height !== b.height) {
    throw new RangeError(`image sizes differ: ${a.width}x${a.height} vs ${b.width}x${b.height}`);
  }
  if (!Number.isInteger(cropBorderPx) || cropBorderPx < 0) throw new RangeError(`cropBorderPx must be a whole number >= 0`);
  const width = a.width - 2 * cropBorderPx;
  const height = a.height - 2 * cropBorderPx;
  if (width <= 0 || height <= 0) throw new RangeError(`cropping ${cropBorderPx}px leaves nothing of ${a.width}x${a.height}`);
  return { width, height };
}

/**
 * Luma as MATLAB's rgb2ycbcr (ITU-R BT.601, studio range 16..235), kept as a float: SR evaluation code
 * (BasicSR and others) does not round Y to integers. Returns the cropped region only.
 */
export function lumaY(image: RgbPixels, cropBorderPx = 0): Float64Array {
  const { width, height } = checkPair(image, image, cropBorderPx);
  const y = new Float64Array(width * height);
  const { data } = image;
  for (let row = 0; row < height; row++) {
    let source = ((row + cropBorderPx) * image.width + cropBorderPx) * 3;
    for (let col = 0; col < width; col++, source += 3) {
      y[row * width + col] = 16 + (65.481 * data[source] + 128.553 * data[source + 1] + 24.966 * data[source + 2]) / 255;
    }
  }
  return y;
}

function psnrFromMse(mse: number): number {
  return mse === 0 ? Infinity : 10 * Math.log10((PEAK * PEAK) / mse);
}

/** PSNR in dB on BT.601 luma; identical images give Infinity. */
export function psnrY(a: RgbPixels, b: RgbPixels, options: MetricOptions = {}): number {
  const crop = options.cropBorderPx ?? 0;
  checkPair(a, b, crop);
  const ya = lumaY(a, crop);
  const yb = lumaY(b, crop);
  let sum = 0;
  for (let i = 0; i < ya.length; i++) sum += (ya[i] - yb[i]) ** 2;
  return psnrFromMse(sum / ya.length);
}

/** PSNR in dB over all three RGB channels; identical images give Infinity. */
export function psnrRgb(a: RgbPixels, b: RgbPixels, options: MetricOptions = {}): number {
  const crop = options.cropBorderPx ?? 0;
  const { width, height } = checkPair(a, b, crop);
  let sum = 0;
  for (let row = 0; row < height; row++) {
    const start = ((row + crop) * a.width + crop) * 3;
    for (let i = start; i < start + width * 3; i++) sum += (a.data[i] - b.data[i]) ** 2;
  }
  return psnrFromMse(sum / (width * height * 3));
}

function gaussianWindow1d(): Float64Array {
  const radius = (SSIM_WINDOW_SIZE - 1) / 2;
  const window = new Float64Array(SSIM_WINDOW_SIZE);
  let sum = 0;
  for (let i = 0; i < SSIM_WINDOW_SIZE; i++) sum += window[i] = Math.exp(-((i - radius) ** 2) / (2 * SSIM_SIGMA * SSIM_SIGMA));
  for (let i = 0; i < SSIM_WINDOW_SIZE; i++) window[i] /= sum;
  return window;
}

/**
 * Mean SSIM (Wang et al. 2004) on BT.601 luma: 11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03, L 255,
 * 'valid' filtering (no padding), as in the usual SR evaluation code. The cropped image must be at least
 * 11x11.
 */
export function ssimY(a: RgbPixels, b: RgbPixels, options: MetricOptions = {}): number {
  const crop = options.cropBorderPx ?? 0;
  const { width, height } = checkPair(a, b, crop);
  if (width < SSIM_WINDOW_SIZE || height < SSIM_WINDOW_SIZE) {
    throw new RangeError(`SSIM needs at least ${SSIM_WINDOW_SIZE}x${SSIM_WINDOW_SIZE} after cropping, got ${width}x${height}`);
  }
  const x = lumaY(a, crop);
  const y = lumaY(b, crop);
  const window = gaussianWindow1d();
  const outWidth = width - SSIM_WINDOW_SIZE + 1;
  const outHeight = height - SSIM_WINDOW_SIZE + 1;

  // The 2-D Gaussian is separable: filter rows first, then columns, for x, y, x^2, y^2 and xy.
  const rowX = new Float64Array(height * outWidth);
  const rowY = new Float64Array(height * outWidth);
  const rowXX = new Float64Array(height * outWidth);
  const rowYY = new Float64Array(height * outWidth);
  const rowXY = new Float64Array(height * outWidth);
  for (let row = 0; row < height; row++) {
    for (let col = 0; col < outWidth; col++) {
      let sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
      for (let k = 0; k < SSIM_WINDOW_SIZE; k++) {
        const w = window[k];
        const vx = x[row * width + col + k];
        const vy = y[row * width + col + k];
        sx += w * vx;
        sy += w * vy;
        sxx += w * vx * vx;
        syy += w * vy * vy;
        sxy += w * vx * vy;
      }
      const o = row * outWidth + col;
      rowX[o] = sx;
      rowY[o] = sy;
      rowXX[o] = sxx;
      rowYY[o] = syy;
      rowXY[o] = sxy;
    }
  }

  let ssimSum = 0;
  for (let row = 0; row < outHeight; row++) {
    for (let col = 0; col < outWidth; col++) {
      let muX = 0, muY = 0, exx = 0, eyy = 0, exy = 0;
      for (let k = 0; k < SSIM_WINDOW_SIZE; k++) {
        const w = window[k];
        const i = (row + k) * outWidth + col;
        muX += w * rowX[i];
        muY += w * rowY[i];
        exx += w * rowXX[i];
        eyy += w * rowYY[i];
        exy += w * rowXY[i];
      }
      const varX = exx - muX * muX;
      const varY = eyy - muY * muY;
      const covXY = exy - muX * muY;
      ssimSum +=
        ((2 * muX * muY + SSIM_C1) * (2 * covXY + SSIM_C2)) /
        ((muX * muX + muY * muY + SSIM_C1) * (varX + varY + SSIM_C2));
    }
  }
  return ssimSum / (outWidth * outHeight);
}

/**
 * Hasler & Süsstrunk's colourfulness (2003): sqrt(σrg² + σyb²) + 0.3·sqrt(μrg² + μyb²) over
 * rg = R − G and yb = (R + G)/2 − B. 0 for greyscale; ~15 "slightly", ~33 "moderately", ~59 "quite" colourful.
 */
export function colourfulness(image: RgbPixels): number {
  const n = image.width * image.height;
  let sRg = 0, sYb = 0, qRg = 0, qYb = 0;
  const d = image.data;
  for (let i = 0; i < n; i++) {
    const r = d[3 * i], g = d[3 * i + 1], b = d[3 * i + 2];
    const rg = r - g;
    const yb = 0.5 * (r + g) - b;
    sRg += rg; sYb += yb; qRg += rg * rg; qYb += yb * yb;
  }
  const mRg = sRg / n, mYb = sYb / n;
  const vRg = Math.max(0, qRg / n - mRg * mRg), vYb = Math.max(0, qYb / n - mYb * mYb);
  return Math.sqrt(vRg + vYb) + 0.3 * Math.sqrt(mRg * mRg + mYb * mYb);
}
