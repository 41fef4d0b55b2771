import { test } from 'node:test';
import assert from 'node:assert/strict';
import { yccToRgb } from '../common/color.ts';
import { psnrRgb } from '../common/image-metrics.ts';
import { augmentPair, degrade } from '../trainer/data/tasks.ts';
import { dihedral, inverseSymmetry } from '../common/dihedral.ts';
import { pairSource } from '../trainer/data/pair-source.ts';
import { Rng } from '../trainer/rng.ts';
import type { Batch } from '../trainer/fit/batch.ts';

/** A smooth, asymmetric test photo: every symmetry of it is distinct. */
function photo(width: number, height: number, seed = 1): { data: Uint8Array; width: number; height: number } {
  const rng = new Rng(seed);
  const [a, b, c] = [rng.next() * 0.3, rng.next() * 0.3, rng.next() * 6];
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    const i = (y * width + x) * 3;
    data[i] = Math.round(127 + 100 * Math.sin(a * x + c));
    data[i + 1] = Math.round(127 + 100 * Math.cos(b * y));
    data[i + 2] = Math.round((255 * (x + 2 * y)) / (width + 2 * height));
  }
  return { data, width, height };
}

test('dihedral: a quarter turn moves the right column to the top row; four make the identity; all 8 differ; inverseSymmetry undoes each', () => {
  // 2×3 single-channel image: rows [1 2 3], [4 5 6].
  const img = Float32Array.from([1, 2, 3, 4, 5, 6]);
  const r1 = dihedral(img, 2, 3, 1, 1);
  assert.deepEqual([r1.height, r1.width, [...r1.data]], [3, 2, [3, 6, 2, 5, 1, 4]]);
  let r: { data: Float32Array; height: number; width: number } = { data: img, height: 2, width: 3 };
  for (let i = 0; i < 4; i++) r = dihedral(r.data, r.height, r.width, 1, 1);
  assert.deepEqual([...r.data], [...img]);
  const all = new Set(Array.from({ length: 8 }, (_, k) => dihedral(img, 2, 3, 1, k).data.join()));
  assert.equal(all.size, 8);
  for (let k = 0; k < 8; k++) {
    const t = dihedral(img, 2, 3, 1, k);
    const back = dihedral(t.data, t.height, t.width, 1, inverseSymmetry(k));
    assert.deepEqual([back.height, back.width, [...back.data]], [2, 3, [...img]], `symmetry ${k} undone by ${inverseSymmetry(k)}`);
  }
});

test('augmentation applies the same symmetry to input and target', () => {
  const t = photo(8, 8);
  const target = Float32Array.from(t.data, (v) => v / 255);
  // Input: the target subsampled 2×, so any mismatch in the symmetry applied shows.
  const input = new Float32Array(4 * 4 * 3);
  for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) for (let c = 0; c < 3; c++) input[(y * 4 + x) * 3 + c] = target[((2 * y) * 8 + 2 * x) * 3 + c];
  const seen = new Set<string>();
  for (let s = 0; s < 40; s++) {
    const p = augmentPair({ input, inputShape: [4, 4, 3], target, targetShape: [8, 8, 3] }, new Rng(s));
    seen.add(p.target.join());
    // Subsampling commutes with the symmetries only up to the sampling phase; compare against the
    // subsampled augmented target at the matching phase.
    const phases = [[0, 0], [0, 1], [1, 0], [1, 1]].map(([py, px]) => {
      const sub = new Float32Array(4 * 4 * 3);
      for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) for (let c = 0; c < 3; c++) sub[(y * 4 + x) * 3 + c] = p.target[((2 * y + py) * 8 + 2 * x + px) * 3 + c];
      return sub.join();
    });
    assert.ok(phases.includes(p.input.join()), `seed ${s}: input and target got different symmetries`);
  }
  assert.ok(seen.size >= 6, 'augmentation should use many of the 8 symmetries');
});

/**
 * MATLAB's imresize bicubic taps, written out: halving (antialiased Keys a = -0.5, widened ×2) gives
 * 3, 9, 29, 111 (/256) mirrored over 8 source pixels 2o-3 … 2o+4; doubling gives the four Keys
 * weights at distances 1.75, 0.75, 0.25, 1.25 for even outputs, mirrored for odd ones.
 */
const halve = [-3, -9, 29, 111, 111, 29, -9, -3].map((v) => v / 256);
const doubleEven = [-0.0234375, 0.2265625, 0.8671875, -0.0703125];

/** Symmetric edges as imresize pads: …, 1, 0 | 0, 1, … | n-1, n-2, … */
const mirror = (i: number, n: number) => (i < 0 ? -i - 1 : i >= n ? 2 * n - 1 - i : i);

/** One axis of HWC data resized with fixed taps: `taps(o)` lists [source index, weight]. */
function resample(src: Float64Array, w: number, h: number, axis: 'x' | 'y', outLen: number, taps: (o: number) => [number, number][]): Float64Array {
  const ow = axis === 'x' ? outLen : w;
  const oh = axis === 'y' ? outLen : h;
  const out = new Float64Array(ow * oh * 3);
  for (let y = 0; y < oh; y++) for (let x = 0; x < ow; x++) for (let c = 0; c < 3; c++) {
    let acc = 0;
    for (const [i, wt] of taps(axis === 'x' ? x : y)) acc += wt * src[((axis === 'y' ? mirror(i, h) : y) * w + (axis === 'x' ? mirror(i, w) : x)) * 3 + c];
    out[(y * ow + x) * 3 + c] = acc;
  }
  return out;
}

test('upscale degradation: the low-res input is MATLAB bicubic, computed here from its published taps', async () => {
  const t = photo(32, 24);
  const p = await degrade(t, new Rng(1), { task: 'upscale', scale: 2 });
  assert.deepEqual(p.inputShape, [12, 16, 3]);
  assert.deepEqual(p.targetShape, [24, 32, 3]);
  const halveTaps = (o: number) => halve.map((wt, k): [number, number] => [2 * o - 3 + k, wt]);
  const small = resample(resample(Float64Array.from(t.data), 32, 24, 'x', 16, halveTaps), 16, 24, 'y', 12, halveTaps);
  // The taps are multiples of 1/256, so both computations are exact and round alike: no tolerance.
  const expected = Float32Array.from(small, (v) => Math.min(255, Math.max(0, Math.round(v))) / 255);
  assert.deepEqual(p.input, expected);

  const pre = await degrade(t, new Rng(1), { task: 'upscale', scale: 2, resolution: 'pre-upsampled' });
  assert.deepEqual(pre.inputShape, [24, 32, 3]);
  const doubleTaps = (o: number): [number, number][] => {
    const i = o >> 1;
    return o % 2 === 0 ? doubleEven.map((wt, k) => [i - 2 + k, wt]) : [...doubleEven].reverse().map((wt, k) => [i - 1 + k, wt]);
  };
  const big = resample(resample(Float64Array.from(expected), 16, 12, 'x', 32, doubleTaps), 32, 12, 'y', 24, doubleTaps);
  let err = 0;
  for (let i = 0; i < big.length; i++) err = Math.max(err, Math.abs(pre.input[i] - big[i]));
  assert.ok(err < 1e-6, `pre-upsampled input differs from bicubic doubling by ${err}`);
});

test('decrappify degradation re-encodes as JPEG: a lossy but recognisable input', async () => {
  const t = photo(32, 32, 3);
  const p = await degrade(t, new Rng(2), { task: 'decrappify', scale: 1, jpegQuality: [10, 10] });
  const asRgb = (f: Float32Array) => ({ data: Array.from(f, (v) => v * 255), width: 32, height: 32 });
  const psnr = psnrRgb(asRgb(p.input), asRgb(p.target));
  assert.ok(psnr > 18 && psnr < 45, `PSNR of a quality-10 JPEG was ${psnr}`);
  const hq = await degrade(t, new Rng(2), { task: 'decrappify', scale: 1, jpegQuality: [60, 60] });
  assert.ok(psnrRgb(asRgb(hq.input), asRgb(hq.target)) > psnr, 'quality 60 must be closer than quality 10');
});

test('colorize: luminance input and chroma target recombine to the original RGB', async () => {
  const t = photo(10, 6);
  const p = await degrade(t, new Rng(0), { task: 'colorize', scale: 1 });
  assert.deepEqual([p.inputShape, p.targetShape], [[6, 10, 1], [6, 10, 2]]);
  for (let i = 0; i < 60; i++) {
    const rgb = yccToRgb(p.input[i], p.target[2 * i], p.target[2 * i + 1]);
    rgb.forEach((v, c) => assert.ok(Math.abs(v * 255 - t.data[3 * i + c]) < 0.01));
  }
});

test('pair source: batches are a function of (seed, epoch, index); validation is fixed', async () => {
  const images = Array.from({ length: 12 }, (_, i) => photo(40 + i, 36, i + 1));
  const store = { count: images.length, get: (i: number) => images[i] };
  const make = (seed: number) => pairSource({ store, task: 'upscale', scale: 2, batchSize: 3, cropPx: 16, seed, validationImages: 2 });
  const a = make(5);
  const b = make(5);
  assert.equal(a.trainImages, 10);
  const [b00, b00again, b01, b10] = (await Promise.all([a.batch(0, 0), b.batch(0, 0), a.batch(0, 1), a.batch(1, 0)])) as Batch[];
  assert.deepEqual(b00.xShape, [3, 8, 8, 3]);
  assert.deepEqual(b00.yShape, [3, 16, 16, 3]);
  assert.deepEqual(b00again.x, b00.x);
  assert.notDeepEqual(b01.y, b00.y);
  assert.notDeepEqual(b10.y, b00.y);
  assert.deepEqual(await a.validation!(), await b.validation!());
  assert.notDeepEqual((await make(6).batch(0, 0)).y, b00.y);
});

test('pair source: a later phase keeps the validation crops and samples fresh epochs', async () => {
  const images = Array.from({ length: 12 }, (_, i) => photo(40 + i, 36, i + 1));
  const store = { count: images.length, get: (i: number) => images[i] };
  const first = pairSource({ store, task: 'upscale', scale: 2, batchSize: 3, cropPx: 16, seed: 5, validationImages: 2 });
  const later = pairSource({ store, task: 'upscale', scale: 2, batchSize: 3, cropPx: 24, validationCropPx: 16, epochOffset: 4, seed: 5, validationImages: 2 });
  assert.deepEqual(await later.validation!(), await first.validation!());
  assert.deepEqual(((await later.batch(0, 0)) as Batch).yShape, [3, 24, 24, 3]);
  const shifted = pairSource({ store, task: 'upscale', scale: 2, batchSize: 3, cropPx: 16, epochOffset: 4, seed: 5, validationImages: 2 });
  assert.deepEqual(((await shifted.batch(0, 1)) as Batch).y, ((await first.batch(4, 1)) as Batch).y);
  assert.notDeepEqual(((await shifted.batch(0, 1)) as Batch).y, ((await first.batch(0, 1)) as Batch).y);
});
