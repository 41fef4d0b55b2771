import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Task } from '../common/model-descriptor.ts';
import { enhanceImage } from '../electron/engine/enhance-image.ts';
import { planBatch, runBatch } from '../electron/engine/batch.ts';
import { decodeImage, to8Bit } from '../electron/engine/image-io.ts';
import { type EngineModel, loadModel } from '../electron/engine/model-session.ts';
import { dihedral, inverseSymmetry } from '../common/dihedral.ts';
import { planTiles, type RawImage, runTiled, tilePlanOptions } from '../electron/engine/tiling.ts';
import { pattern, tinyModel } from './helpers/engine-fixtures.ts';
import { readTiffTextTags } from './helpers/tiff-tags.ts';

let dir: string;
const models = new Map<string, EngineModel>();

/** A small real U-Net through the real exporter, with every weight randomised: the fresh head is zero, which would make it the identity. */
async function model(task: Task, scale: 1 | 2 | 4): Promise<EngineModel> {
  const key = `${task}${scale}`;
  const cached = models.get(key);
  if (cached) return cached;
  const m = await loadModel(tinyModel(task, scale, { noise: 0.05 }), { providers: 'cpu', threads: 2 });
  models.set(key, m);
  return m;
}

/** Untrained decrappify: exactly the identity, so colour and depth can be checked by value. */
async function identity(): Promise<EngineModel> {
  const cached = models.get('identity');
  if (cached) return cached;
  const m = await loadModel(tinyModel('decrappify', 1), { providers: 'cpu', threads: 2 });
  models.set('identity', m);
  return m;
}

/** Runs the network over `image` with the given tile size and returns its float output, HWC. */
async function floatRun(m: EngineModel, image: RawImage, scale: number, tileSizePx: number, selfEnsemble = false): Promise<{ out: Float32Array; tiles: number }> {
  const c = m.descriptor.outChannels;
  const ow = image.widthPx * scale;
  const out = new Float32Array(ow * image.heightPx * scale * c);
  let tiles = 0;
  await runTiled(m, image, scale, { tileSizePx, selfEnsemble, onTile: (_, total) => (tiles = total) }, (o, core) => {
    const [, ch, h, w] = o.dims;
    for (let k = 0; k < ch; k++) {
      for (let y = 0; y < core.heightPx; y++) {
        for (let x = 0; x < core.widthPx; x++) {
          out[((core.toYPx + y) * ow + core.toXPx + x) * c + k] = o.data[k * h * w + (core.fromYPx + y) * w + core.fromXPx + x];
        }
      }
    }
  });
  return { out, tiles };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'engine-image-'));
});

after(async () => {
  for (const m of models.values()) await m.release();
  await rm(dir, { recursive: true, force: true });
});

test('tile cores cover every pixel exactly once and windows start on the size multiple', () => {
  for (const [w, h] of [[1, 1], [37, 200], [300, 129]]) {
    const o = { tileSizePx: 96, contextPx: 24, multiplePx: 8 };
    const covered = new Uint8Array(w * h);
    for (const t of planTiles(w, h, o)) {
      assert.equal(t.x.windowStart % 8, 0);
      assert.equal(t.y.windowStart % 8, 0);
      assert.ok(t.paddedWidthPx <= 96 && t.paddedHeightPx <= 96 && t.paddedWidthPx % 8 === 0);
      // Context on every side that is not the image border.
      assert.ok(t.x.coreStart === 0 || t.x.coreStart - t.x.windowStart >= 24);
      assert.ok(t.x.coreEnd === w || t.x.windowEnd - t.x.coreEnd >= 24);
      for (let y = t.y.coreStart; y < t.y.coreEnd; y++) for (let x = t.x.coreStart; x < t.x.coreEnd; x++) covered[y * w + x]++;
    }
    assert.ok(covered.every((n) => n === 1), `${w}×${h}`);
  }
});

test('tiled inference equals one whole-image run, and would not without the receptive margin', async () => {
  const image: RawImage = { data: pattern(150, 110, 3), widthPx: 150, heightPx: 110, channels: 3 };
  for (const [task, scale] of [['upscale', 2], ['colorize', 1]] as const) {
    const m = await model(task, scale);
    const minimum = 2 * Math.ceil(m.descriptor.receptiveMarginPx / m.descriptor.sizeMultiplePx) * m.descriptor.sizeMultiplePx + m.descriptor.sizeMultiplePx;
    const whole = await floatRun(m, image, scale, 1024);
    const tiled = await floatRun(m, image, scale, minimum + 8);
    assert.equal(whole.tiles, 1);
    assert.ok(tiled.tiles >= 12, `${tiled.tiles} tiles`);
    assert.equal(maxAbsDiff(whole.out, tiled.out), 0, `${task}: tiled differs`);

    // The same tiling with no context shows seams, so the check above can fail.
    const saved = m.descriptor.receptiveMarginPx;
    (m.descriptor as { receptiveMarginPx: number }).receptiveMarginPx = 0;
    try {
      const seamy = await floatRun(m, image, scale, 32);
      assert.ok(maxAbsDiff(whole.out, seamy.out) > 1e-2, `${task}: context-free tiles matched too`);
    } finally {
      (m.descriptor as { receptiveMarginPx: number }).receptiveMarginPx = saved;
    }
  }
});

test('the self-ensemble is the mean of the runs on the 8 turned photos, turned back; tiles do not change it', async () => {
  // Sides that are multiples of the models' size multiple, so no run needs padding and the means can match exactly.
  const [w, h] = [64, 48];
  const image: RawImage = { data: pattern(w, h, 3), widthPx: w, heightPx: h, channels: 3 };
  for (const [task, scale] of [['upscale', 2], ['colorize', 1]] as const) {
    const m = await model(task, scale);
    const c = m.descriptor.outChannels;
    const expected = new Float32Array(w * scale * h * scale * c);
    for (let k = 0; k < 8; k++) {
      const t = dihedral(Float32Array.from(image.data), h, w, 3, k);
      const { out } = await floatRun(m, { data: Buffer.from(t.data), widthPx: t.width, heightPx: t.height, channels: 3 }, scale, 1024);
      const back = dihedral(out, t.height * scale, t.width * scale, c, inverseSymmetry(k));
      for (let i = 0; i < expected.length; i++) expected[i] += back.data[i] / 8;
    }
    const ensemble = await floatRun(m, image, scale, 1024, true);
    assert.ok(maxAbsDiff(ensemble.out, expected) < 1e-5, `${task}: not the mean of the turned runs`);
    assert.ok(maxAbsDiff(ensemble.out, (await floatRun(m, image, scale, 1024)).out) > 1e-3, `${task}: the ensemble changed nothing`);
    const minimum = 2 * Math.ceil(m.descriptor.receptiveMarginPx / m.descriptor.sizeMultiplePx) * m.descriptor.sizeMultiplePx + m.descriptor.sizeMultiplePx;
    const odd: RawImage = { data: pattern(150, 110, 3), widthPx: 150, heightPx: 110, channels: 3 };
    const tiled = await floatRun(m, odd, scale, minimum + 8, true);
    assert.ok(tiled.tiles >= 12);
    assert.ok(maxAbsDiff(tiled.out, (await floatRun(m, odd, scale, 1024, true)).out) < 1e-5, `${task}: tiled self-ensemble differs`);
  }
});

test('a cancel during a self-ensemble tile stops before its 8 runs are done', async () => {
  const m = await model('upscale', 2);
  const controller = new AbortController();
  let runs = 0;
  const counting: EngineModel = { ...m, run: (t) => { runs++; controller.abort(); return m.run(t); } };
  const image: RawImage = { data: pattern(64, 48, 3), widthPx: 64, heightPx: 48, channels: 3 };
  await assert.rejects(runTiled(counting, image, 2, { tileSizePx: 1024, selfEnsemble: true, signal: controller.signal }, () => {}),
    (e: { code?: string }) => e.code === 'aborted');
  assert.equal(runs, 1);
});

test('JPEG → JPEG keeps the ICC profile and EXIF, applies the orientation and resets it to 1', async () => {
  const input = join(dir, 'camera.jpg');
  await sharp(pattern(48, 32, 3), { raw: { width: 48, height: 32, channels: 3 } })
    .withIccProfile('p3')
    .withExif({ IFD0: { Make: 'EnhanceTestCam', Model: 'Model-Q7', Copyright: 'test copyright' } })
    .withMetadata({ orientation: 6 })
    .jpeg({ quality: 95 })
    .toFile(input);
  const before = await sharp(input).metadata();
  assert.equal(before.orientation, 6);
  assert.ok(before.icc);

  const output = join(dir, 'camera-x2.jpg');
  const r = await enhanceImage(await model('upscale', 2), input, output, { tileSizePx: 64 });
  const after = await sharp(output).metadata();
  assert.equal(after.format, 'jpeg');
  assert.equal(r.format, 'jpeg');
  // Orientation 6 is a quarter turn: 48×32 stored, 32×48 shown, 64×96 after ×2.
  assert.deepEqual([after.width, after.height], [64, 96]);
  assert.ok(after.orientation === undefined || after.orientation === 1, `orientation ${after.orientation}`);
  assert.ok(after.icc && Buffer.compare(after.icc, before.icc) === 0, 'ICC profile differs');
  const exif = after.exif?.toString('latin1') ?? '';
  for (const s of ['EnhanceTestCam', 'Model-Q7', 'test copyright']) assert.ok(exif.includes(s), `EXIF lacks ${s}`);
});

test('PNG → PNG carries alpha: unchanged at ×1, Lanczos-resized at ×2', async () => {
  const w = 40;
  const h = 30;
  const rgba = pattern(w, h, 4, 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) rgba[(y * w + x) * 4 + 3] = x < 10 ? 0 : Math.round((x / w) * 255);
  const input = join(dir, 'cutout.png');
  await sharp(rgba, { raw: { width: w, height: h, channels: 4 } }).png().toFile(input);
  const alphaOf = async (path: string) => (await sharp(path).extractChannel(3).raw().toBuffer());

  await enhanceImage(await model('decrappify', 1), input, join(dir, 'cutout-x1.png'));
  assert.deepEqual(await alphaOf(join(dir, 'cutout-x1.png')), await alphaOf(input));

  await enhanceImage(await model('upscale', 2), input, join(dir, 'cutout-x2.png'));
  const meta = await sharp(join(dir, 'cutout-x2.png')).metadata();
  assert.deepEqual([meta.width, meta.height, meta.channels], [80, 60, 4]);
  const expected = await sharp(input).extractChannel(3).resize(80, 60, { kernel: 'lanczos3', fit: 'fill' }).raw().toBuffer();
  assert.deepEqual(await alphaOf(join(dir, 'cutout-x2.png')), expected);
});

test('16-bit PNG and TIFF stay 16-bit with their exact values; 8-bit formats get them rounded, not cut', async () => {
  const w = 32;
  const h = 24;
  const values = Uint16Array.from({ length: w * h * 3 }, (_, i) => (i * 7919) % 65536);
  const raw16 = () => sharp(values, { raw: { width: w, height: h, channels: 3 } }).toColourspace('rgb16');
  const png16 = join(dir, 'deep.png');
  const tif16 = join(dir, 'deep.tif');
  await raw16().png().toFile(png16);
  await raw16().tiff({ compression: 'lzw' }).toFile(tif16);
  const m = await identity();
  for (const [input, format] of [[png16, 'png'], [tif16, 'tiff'], [png16, 'tiff']] as const) {
    const output = join(dir, `deep-out-${format}-${input.slice(-3)}.${format}`);
    assert.equal((await enhanceImage(m, input, output, { format })).bitsPerSample, 16);
    assert.equal((await sharp(output).metadata()).depth, 'ushort', output);
    const out = await sharp(output).toColourspace('rgb16').raw({ depth: 'ushort' }).toBuffer();
    assert.deepEqual(new Uint16Array(out.buffer, out.byteOffset, out.length / 2), values, output);
  }
  // Where 8 bits are all the format holds, v·255/65535 rounded (libvips' own cast keeps the high byte).
  const all = Uint16Array.from({ length: 65536 }, (_, v) => v);
  const eight = to8Bit({ data: all, widthPx: 65536, heightPx: 1, channels: 1 }).data;
  for (let v = 0; v < 65536; v++) assert.equal(eight[v], Math.round(v / 257), `16-bit ${v}`);
});

test('a Display P3 photo keeps its pixel values and its profile; CMYK matches the known colours it was made from', async () => {
  const m = await identity();
  const p3 = join(dir, 'wide.png');
  await sharp(pattern(40, 24, 3, 9), { raw: { width: 40, height: 24, channels: 3 } }).withIccProfile('p3').png().toFile(p3);
  // The file's own P3-encoded values, not converted to sRGB.
  const known = await sharp(p3, { ignoreIcc: true }).raw().toBuffer();
  const profile = (await sharp(p3).metadata()).icc!;
  for (const format of ['png', 'tiff'] as const) {
    const output = join(dir, `wide-out.${format}`);
    await enhanceImage(m, p3, output, { format });
    assert.ok(Buffer.compare((await sharp(output).metadata()).icc ?? Buffer.alloc(0), profile) === 0, `${format}: ICC profile differs`);
    assert.deepEqual(await sharp(output, { ignoreIcc: true }).raw().toBuffer(), known, `${format}: pixel values changed`);
  }

  // Flat patches of known sRGB colours, stored as CMYK through the CMYK profile.
  const colours = [[128, 128, 128], [150, 120, 100], [100, 130, 150], [180, 170, 160], [230, 220, 200], [40, 40, 40]];
  const side = 8;
  const rgb = Buffer.alloc(colours.length * side * side * 3);
  for (let y = 0; y < side; y++) for (let x = 0; x < colours.length * side; x++) rgb.set(colours[Math.floor(x / side)], (y * colours.length * side + x) * 3);
  const cmyk = join(dir, 'print.jpg');
  await sharp(rgb, { raw: { width: colours.length * side, height: side, channels: 3 } }).withIccProfile('cmyk').jpeg({ quality: 100, chromaSubsampling: '4:4:4' }).toFile(cmyk);
  assert.equal((await sharp(cmyk).metadata()).space, 'cmyk');
  const output = join(dir, 'print-out.png');
  await enhanceImage(m, cmyk, output, { format: 'png' });
  const { data, info } = await sharp(output).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.channels, (await sharp(output).metadata()).space], [3, 'srgb']);
  // Exactly libvips' own conversion through the embedded profile, in a pipeline of nothing else…
  assert.deepEqual(data, await sharp(cmyk).toColourspace('srgb').raw().toBuffer());
  // …and near the colours it was made from: the profile's perceptual round trip moves them by up
  // to ~17 levels, a conversion that ignores the profile by 50 or more.
  colours.forEach((colour, k) => {
    const at = ((side / 2) * colours.length * side + k * side + side / 2) * 3;
    const got = [...data.subarray(at, at + 3)];
    assert.ok(got.every((v, c) => Math.abs(v - colour[c]) <= 20), `patch ${k}: ${got}, made from ${colour}`);
  });
});

test('TIFF outputs keep the EXIF of JPEG and TIFF originals', async () => {
  const m = await identity();
  const jpg = join(dir, 'exif.jpg');
  await sharp(pattern(24, 16, 3, 12), { raw: { width: 24, height: 16, channels: 3 } })
    .withExif({ IFD0: { Make: 'EnhanceTestCam', Model: 'Model-Q7', Copyright: 'test copyright' }, IFD2: { DateTimeOriginal: '2021:06:05 04:03:02', LensModel: 'Test Lens 50mm' } })
    .jpeg()
    .toFile(jpg);
  const first = join(dir, 'exif-out.tif');
  const second = join(dir, 'exif-out-again.tif');
  await enhanceImage(m, jpg, first, { format: 'tiff' });
  await enhanceImage(m, first, second);
  for (const output of [first, second]) {
    const tags = readTiffTextTags(await readFile(output));
    assert.deepEqual([0x010f, 0x0110, 0x8298].map((t) => tags.ifd0.get(t)), ['EnhanceTestCam', 'Model-Q7', 'test copyright'], output);
    assert.deepEqual([0x9003, 0xa434].map((t) => tags.exif.get(t)), ['2021:06:05 04:03:02', 'Test Lens 50mm'], output);
    // Still a TIFF every reader can open, with the pixels it had.
    assert.deepEqual(await sharp(output).raw().toBuffer(), await sharp(first).raw().toBuffer());
  }
});

test('multi-tile outputs equal the one-tile run exactly through the batch (odd sizes; ×2, ×4, decrappify, colorize, alpha), and differ with a margin 5 px short', async () => {
  const cases = [['upscale', 2, 67, 51, 3], ['upscale', 4, 59, 53, 3], ['decrappify', 1, 79, 67, 4], ['colorize', 1, 75, 63, 3]] as const;
  for (const [task, scale, w, h, channels] of cases) {
    const bytes = tinyModel(task, scale, { noise: 0.1 });
    const input = join(dir, `tiles-${task}${scale}.png`);
    await sharp(pattern(w, h, channels, 13), { raw: { width: w, height: h, channels } }).png().toFile(input);
    const exact = await loadModel(bytes, { providers: 'cpu', threads: 2 });
    const d = exact.descriptor;
    const short = await loadModel(bytes, { providers: 'cpu', threads: 2, descriptor: { ...d, receptiveMarginPx: d.receptiveMarginPx - 5 } });
    /** The photo through planBatch and runBatch, as the CLI runs it, with tiles just above the model's minimum. */
    const run = async (m: EngineModel, tileSizePx: number | 'smallest', name: string) => {
      const o = tilePlanOptions(m.descriptor, 4096);
      const size = tileSizePx === 'smallest' ? 2 * o.contextPx + 2 * o.multiplePx : tileSizePx;
      const out = join(dir, name);
      const summary = await runBatch(m, await planBatch(input, out), { tileSizePx: size });
      assert.equal(summary.enhanced, 1, name);
      const image = await sharp(join(out, `tiles-${task}${scale}.png`)).raw().toBuffer({ resolveWithObject: true });
      return { px: image.data, channels: image.info.channels, tiles: planTiles(w, h, tilePlanOptions(m.descriptor, size)).length };
    };
    const whole = await run(exact, 4096, `whole-${task}${scale}`);
    const tiled = await run(exact, 'smallest', `tiled-${task}${scale}`);
    const seamy = await run(short, 'smallest', `seamy-${task}${scale}`);
    await exact.release();
    await short.release();
    assert.deepEqual([whole.tiles, whole.channels], [1, channels], task);
    assert.ok(tiled.tiles >= 6, `${task}: ${tiled.tiles} tiles`);
    assert.equal(maxAbsDiff(whole.px, tiled.px), 0, `${task} ×${scale}: tiles differ from the whole-image run`);
    assert.ok(maxAbsDiff(whole.px, seamy.px) > 0, `${task} ×${scale}: too little context went unnoticed`);
  }
});

test('colorize turns a grey photo into RGB around its own luminance', async () => {
  const w = 48;
  const h = 40;
  const grey = Buffer.alloc(w * h);
  for (let i = 0; i < grey.length; i++) grey[i] = 80 + ((i * 7) % 97);
  const input = join(dir, 'old.png');
  await sharp(grey, { raw: { width: w, height: h, channels: 1 } }).png().toFile(input);
  const output = join(dir, 'old-colour.png');
  await enhanceImage(await model('colorize', 1), input, output, { tileSizePx: 64 });

  const { data, info } = await sharp(output).raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.channels, 3);
  let coloured = 0;
  let lumaError = 0;
  for (let i = 0; i < w * h; i++) {
    const [r, g, b] = [data[3 * i], data[3 * i + 1], data[3 * i + 2]];
    if (Math.max(Math.abs(r - g), Math.abs(g - b)) > 2) coloured++;
    lumaError += Math.abs(0.299 * r + 0.587 * g + 0.114 * b - grey[i]);
  }
  assert.ok(coloured > w * h * 0.5, `only ${coloured} of ${w * h} pixels have colour`);
  assert.ok(lumaError / (w * h) < 3, `mean luma error ${lumaError / (w * h)}`);
});

test('an input over the pixel limit fails with too-many-pixels and its path', async () => {
  const input = join(dir, 'big.png');
  await sharp(pattern(64, 48, 3), { raw: { width: 64, height: 48, channels: 3 } }).png().toFile(input);
  await assert.rejects(decodeImage(input, 1000), (e: { code: string; path: string; message: string }) => {
    assert.equal(e.code, 'too-many-pixels');
    assert.equal(e.path, input);
    assert.match(e.message, /64×48/);
    return true;
  });
  assert.equal((await decodeImage(input, 64 * 48)).widthPx, 64);
});

test('a tile size below twice the context is a usage error', async () => {
  const m = await model('upscale', 2);
  assert.throws(() => tilePlanOptions(m.descriptor, 16), (e: { code: string }) => e.code === 'usage');
});
