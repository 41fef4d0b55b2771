import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lumaY, psnrRgb, psnrY, ssimY, type RgbPixels } from '../common/image-metrics.ts';

function image(width: number, height: number, fill: (x: number, y: number, c: number) => number): RgbPixels {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) for (let c = 0; c < 3; c++) data[(y * width + x) * 3 + c] = fill(x, y, c);
  }
  return { data, width, height, channels: 3 };
}

/** Deterministic pseudo-random bytes so the tests are reproducible. */
function noiseSource(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
}

function randomImage(width: number, height: number, seed: number): RgbPixels {
  const next = noiseSource(seed);
  return image(width, height, () => Math.floor(next() * 256));
}

function assertClose(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} vs ${expected} (tolerance ${tolerance})`);
}

test('luma follows MATLAB rgb2ycbcr: black 16, white 235, pure primaries', () => {
  const y = lumaY(image(4, 1, (x, _y, c) => [[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 0, 255]][x][c]));
  assertClose(y[0], 16, 1e-12, 'black');
  assertClose(y[1], 235, 1e-12, 'white'); // 16 + 65.481 + 128.553 + 24.966
  assertClose(y[2], 16 + 65.481, 1e-12, 'red');
  assertClose(y[3], 16 + 24.966, 1e-12, 'blue');
});

test('PSNR of a 2x2 pair with one white pixel matches the value worked out by hand', () => {
  const black = image(2, 2, () => 0);
  const oneWhite = image(2, 2, (x, y) => (x === 1 && y === 0 ? 255 : 0));
  // RGB: 3 of 12 values differ by 255 -> MSE = 255^2 / 4 -> PSNR = 10 log10(4) = 6.0206 dB.
  assertClose(psnrRgb(black, oneWhite), 6.0206, 1e-4, 'RGB PSNR');
  // Y: one of 4 pixels differs by 235 - 16 = 219 -> MSE = 219^2 / 4 = 11990.25
  // -> PSNR = 10 log10(65025 / 11990.25) = 10 log10(5.42316) = 7.3425 dB.
  assertClose(psnrY(black, oneWhite), 7.3425, 1e-4, 'Y PSNR');
  // Only red differs: Y differs by 65.481 -> PSNR = 10 log10(65025 * 4 / 65.481^2) = 17.8291 dB.
  const oneRed = image(2, 2, (x, y, c) => (x === 0 && y === 1 && c === 0 ? 255 : 0));
  assertClose(psnrY(black, oneRed), 17.8291, 1e-4, 'Y PSNR, red only');
});

test('identical images: PSNR is Infinity and SSIM is 1', () => {
  const a = randomImage(20, 17, 1);
  assert.equal(psnrY(a, a), Infinity);
  assert.equal(psnrRgb(a, a), Infinity);
  assertClose(ssimY(a, a), 1, 1e-12, 'SSIM');
});

test('Float32Array input gives the same numbers as Uint8Array', () => {
  const a = randomImage(16, 16, 2);
  const b = randomImage(16, 16, 3);
  const af: RgbPixels = { ...a, data: Float32Array.from(a.data) };
  const bf: RgbPixels = { ...b, data: Float32Array.from(b.data) };
  assert.equal(psnrY(af, bf), psnrY(a, b));
  assert.equal(psnrRgb(af, bf), psnrRgb(a, b));
  assert.equal(ssimY(af, bf), ssimY(a, b));
});

test('SSIM of two uniform images equals the closed form (2ab + C1) / (a^2 + b^2 + C1)', () => {
  // Uniform images have zero variance and covariance, so the contrast-structure term is C2 / C2 = 1.
  const a = image(16, 16, () => 100);
  const b = image(16, 16, () => 140);
  const ya = 16 + (100 * 219) / 255;
  const yb = 16 + (140 * 219) / 255;
  const c1 = (0.01 * 255) ** 2;
  const expected = (2 * ya * yb + c1) / (ya * ya + yb * yb + c1); // 0.95923 by hand
  assertClose(expected, 0.95923, 1e-5, 'hand value');
  assertClose(ssimY(a, b), expected, 1e-9, 'SSIM');
});

/** Straightforward 2-D SSIM: every window summed directly, no separable filtering. */
function bruteForceSsimY(a: RgbPixels, b: RgbPixels): number {
  const luma = (p: RgbPixels, i: number): number => 16 + (65.481 * p.data[i * 3] + 128.553 * p.data[i * 3 + 1] + 24.966 * p.data[i * 3 + 2]) / 255;
  const g: number[][] = [];
  let total = 0;
  for (let i = 0; i < 11; i++) {
    g.push([]);
    for (let j = 0; j < 11; j++) total += g[i][j] = Math.exp(-((i - 5) ** 2 + (j - 5) ** 2) / (2 * 1.5 * 1.5));
  }
  const c1 = (0.01 * 255) ** 2;
  const c2 = (0.03 * 255) ** 2;
  let sum = 0;
  let count = 0;
  for (let top = 0; top + 11 <= a.height; top++) {
    for (let left = 0; left + 11 <= a.width; left++) {
      let mx = 0, my = 0, xx = 0, yy = 0, xy = 0;
      for (let i = 0; i < 11; i++) {
        for (let j = 0; j < 11; j++) {
          const w = g[i][j] / total;
          const p = (top + i) * a.width + left + j;
          const x = luma(a, p);
          const y = luma(b, p);
          mx += w * x;
          my += w * y;
          xx += w * x * x;
          yy += w * y * y;
          xy += w * x * y;
        }
      }
      sum += ((2 * mx * my + c1) * (2 * (xy - mx * my) + c2)) / ((mx * mx + my * my + c1) * (xx - mx * mx + yy - my * my + c2));
      count++;
    }
  }
  return sum / count;
}

test('SSIM matches a direct 2-D window computation on a textured pair', () => {
  const a = randomImage(15, 13, 4);
  const next = noiseSource(5);
  const b = image(15, 13, (x, y, c) => Math.min(255, Math.max(0, a.data[(y * 15 + x) * 3 + c] + Math.round((next() - 0.5) * 60))));
  const expected = bruteForceSsimY(a, b);
  assert.ok(expected > 0.1 && expected < 0.99, `reference SSIM ${expected} should be neither trivial nor 1`);
  assertClose(ssimY(a, b), expected, 1e-10, 'SSIM');
});

test('the border of cropBorderPx pixels is ignored and the MSE is taken over the inner region', () => {
  const grey = image(6, 6, () => 50);
  const ring = image(6, 6, (x, y) => (x === 0 || y === 0 || x === 5 || y === 5 ? 200 : 50));
  assert.ok(Number.isFinite(psnrY(grey, ring)));
  assert.equal(psnrY(grey, ring, { cropBorderPx: 1 }), Infinity);
  assert.equal(psnrRgb(grey, ring, { cropBorderPx: 1 }), Infinity);

  // One inner pixel (2, 3) brighter by 10 grey levels: Y differs by 10 * 219 / 255 = 8.5882.
  const bump = image(6, 6, (x, y) => (x === 2 && y === 3 ? 60 : 50));
  // Crop 1 leaves 4x4 = 16 pixels: PSNR = 10 log10(65025 * 16 / 8.5882^2) = 41.4939 dB.
  assertClose(psnrY(grey, bump, { cropBorderPx: 1 }), 41.4939, 1e-4, 'crop 1');
  // Crop 2 leaves 2x2 = 4 pixels, still holding (2, 3): 6.0206 dB more, 35.4733 dB.
  assertClose(psnrY(grey, bump, { cropBorderPx: 2 }), 35.4733, 1e-4, 'crop 2');

  const big = randomImage(30, 30, 6);
  const framed = image(30, 30, (x, y, c) => (x < 4 || y < 4 || x >= 26 || y >= 26 ? 0 : big.data[(y * 30 + x) * 3 + c]));
  assertClose(ssimY(big, framed, { cropBorderPx: 4 }), 1, 1e-12, 'SSIM with the damaged frame cropped');
  assert.ok(ssimY(big, framed) < 0.9);
});

test('more noise means lower PSNR and lower SSIM', () => {
  const clean = image(32, 32, (x, y, c) => (x * 7 + y * 3 + c * 40) % 256);
  let previousPsnr = Infinity;
  let previousSsim = 1;
  for (const amplitude of [2, 8, 32, 96]) {
    const next = noiseSource(amplitude);
    const noisy = image(32, 32, (x, y, c) =>
      Math.min(255, Math.max(0, clean.data[(y * 32 + x) * 3 + c] + Math.round((next() * 2 - 1) * amplitude))),
    );
    const psnr = psnrY(clean, noisy);
    const ssim = ssimY(clean, noisy);
    assert.ok(psnr < previousPsnr, `noise ±${amplitude}: PSNR ${psnr} should be below ${previousPsnr}`);
    assert.ok(ssim < previousSsim, `noise ±${amplitude}: SSIM ${ssim} should be below ${previousSsim}`);
    previousPsnr = psnr;
    previousSsim = ssim;
  }
});

test('bad inputs are refused rather than measured', () => {
  const a = image(12, 12, () => 0);
  assert.throws(() => psnrY(a, image(12, 11, () => 0)), /sizes differ/);
  assert.throws(() => psnrY({ ...a, channels: 4 }, a), /3 channels/);
  assert.throws(() => psnrRgb(a, a, { cropBorderPx: 6 }), /leaves nothing/);
  assert.throws(() => ssimY(a, a, { cropBorderPx: 1 }), /at least 11x11/);
});
