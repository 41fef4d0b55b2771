import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { importImageFile, importImages, type DecodedImage, type ImportResult } from '../trainer/data/import-images.ts';

let dir: string;

function rawImage(width: number, height: number, fill: (x: number, y: number) => [number, number, number]): Buffer {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(fill(x, y), (y * width + x) * 3);
  return data;
}

const gradient = (width: number, height: number) =>
  sharp(rawImage(width, height, (x, y) => [(x * 8) % 256, (y * 8) % 256, 128]), { raw: { width, height, channels: 3 } });

function pixel(image: DecodedImage, x: number, y: number): number[] {
  const i = (y * image.width + x) * 3;
  return [...image.data.subarray(i, i + 3)];
}

function assertNear(actual: number[], expected: number[], tolerance: number, what: string): void {
  assert.ok(
    actual.every((v, i) => Math.abs(v - expected[i]) <= tolerance),
    `${what}: got [${actual}], expected [${expected}] ± ${tolerance}`,
  );
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'enhance-import-'));
  await mkdir(join(dir, 'sub', 'deeper'), { recursive: true });

  await gradient(32, 24).jpeg({ quality: 95 }).toFile(join(dir, 'good.jpg'));

  // Valid headers up to and including the start-of-scan segment, then bytes that are not entropy-coded
  // data, then the end marker: complete but corrupt (a truncated file lacks the end marker).
  const big = await gradient(96, 96).jpeg({ quality: 95 }).toBuffer();
  const sos = big.indexOf(Buffer.from([0xff, 0xda]));
  const headerEnd = sos + 2 + big.readUInt16BE(sos + 2);
  const garbage = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 131 + 7) % 256));
  await writeFile(join(dir, 'garbage.jpg'), Buffer.concat([big.subarray(0, headerEnd), garbage, Buffer.from([0xff, 0xd9])]));
  await writeFile(join(dir, 'truncated.jpg'), big.subarray(0, big.length >> 1));
  await writeFile(join(dir, 'empty.jpg'), '');
  await writeFile(join(dir, 'notes.jpg'), 'These are my holiday notes, not a photo.\n');
  await writeFile(join(dir, 'readme.txt'), 'not an image either');
  await writeFile(join(dir, '.DS_Store'), 'hidden folder metadata');

  // Left half one colour, right half another, both inside the CMYK gamut.
  await sharp(rawImage(16, 8, (x) => (x < 8 ? [150, 100, 80] : [60, 90, 160])), { raw: { width: 16, height: 8, channels: 3 } })
    .toColourspace('cmyk')
    .jpeg({ quality: 95 })
    .toFile(join(dir, 'cmyk.jpg'));

  const deep = new Uint16Array(4 * 2 * 3).map((_, i) => [65535, 40000, 0][i % 3]);
  await sharp(deep, { raw: { width: 4, height: 2, channels: 3 } }).toColourspace('rgb16').png().toFile(join(dir, 'deep.png'));

  // Stored 40 wide, 20 high, red block in the stored top-left corner; orientation 6 means "rotate 90° clockwise to view".
  await sharp(rawImage(40, 20, (x, y) => (x < 8 && y < 8 ? [255, 0, 0] : [0, 0, 255])), { raw: { width: 40, height: 20, channels: 3 } })
    .jpeg({ quality: 95 })
    .withMetadata({ orientation: 6 })
    .toFile(join(dir, 'rotated.jpg'));

  // Left half opaque green, right half fully transparent.
  const rgba = Buffer.alloc(8 * 4 * 4);
  for (let i = 0; i < 32; i++) rgba.set(i % 8 < 4 ? [0, 200, 0, 255] : [255, 0, 0, 0], i * 4);
  await sharp(rgba, { raw: { width: 8, height: 4, channels: 4 } }).png().toFile(join(dir, 'alpha.png'));

  await sharp(rawImage(6, 6, () => [90, 90, 90]), { raw: { width: 6, height: 6, channels: 3 } })
    .toColourspace('b-w')
    .png()
    .toFile(join(dir, 'grey.png'));

  await gradient(10, 12).webp({ lossless: true }).toFile(join(dir, 'sub', 'inner.webp'));
  await gradient(9, 7).gif().toFile(join(dir, 'sub', 'deeper', 'first-frame.gif'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function importAll(): Promise<{ results: ImportResult[]; progress: [number, number, string][] }> {
  const progress: [number, number, string][] = [];
  const results: ImportResult[] = [];
  for await (const result of importImages(dir, { onProgress: (done, total, path) => progress.push([done, total, path]) })) {
    results.push(result);
  }
  return { results, progress };
}

test('the fixtures are what the tests claim', async () => {
  const meta = async (name: string) => sharp(join(dir, name)).metadata();
  assert.equal((await meta('cmyk.jpg')).space, 'cmyk');
  assert.equal((await meta('deep.png')).depth, 'ushort');
  assert.equal((await meta('rotated.jpg')).orientation, 6);
  assert.equal((await meta('alpha.png')).hasAlpha, true);
  assert.equal((await meta('grey.png')).channels, 1);
});

test('a folder imports recursively: good images decoded, bad files listed with a reason, progress reported', async () => {
  const { results, progress } = await importAll();
  const byName = new Map(results.map((r) => [basename(r.path), r]));
  const images = new Map(results.flatMap((r) => ('image' in r ? [[basename(r.path), r.image] as const] : [])));
  const skipped = new Map(results.flatMap((r) => ('reason' in r ? [[basename(r.path), r.reason] as const] : [])));

  assert.ok(!byName.has('.DS_Store'), 'dot-files are not candidates');
  assert.deepEqual(
    [...images.keys()].sort(),
    ['alpha.png', 'cmyk.jpg', 'deep.png', 'first-frame.gif', 'good.jpg', 'grey.png', 'inner.webp', 'rotated.jpg'],
  );
  assert.deepEqual([...skipped.keys()].sort(), ['empty.jpg', 'garbage.jpg', 'notes.jpg', 'readme.txt', 'truncated.jpg']);
  assert.match(skipped.get('empty.jpg')!, /empty file \(0 bytes\)/);
  assert.match(skipped.get('notes.jpg')!, /not a readable image/);
  assert.match(skipped.get('readme.txt')!, /not an image file type \("\.txt"\)/);
  assert.match(skipped.get('truncated.jpg')!, /truncated/);
  assert.match(skipped.get('garbage.jpg')!, /corrupt/);
  for (const r of results) assert.ok(r.path.startsWith(dir), `${r.path} is a full path to the file`);

  for (const [name, image] of images) {
    assert.ok(image.data instanceof Uint8Array, name);
    assert.equal(image.data.length, image.width * image.height * 3, `${name} is 3-channel 8-bit`);
  }
  const good = images.get('good.jpg')!;
  assert.deepEqual([good.width, good.height], [32, 24]);
  assertNear(pixel(good, 10, 5), [80, 40, 128], 8, 'good.jpg pixel');
  assert.deepEqual([images.get('inner.webp')!.width, images.get('inner.webp')!.height], [10, 12]);
  assert.deepEqual([images.get('first-frame.gif')!.width, images.get('first-frame.gif')!.height], [9, 7]);

  // 16-bit to 8-bit: 40000 / 257 = 155.6.
  assertNear(pixel(images.get('deep.png')!, 3, 1), [255, 156, 0], 1, '16-bit PNG');
  // CMYK to sRGB: the colours come back close (a CMYK round trip is not exact), not as raw ink values.
  const cmyk = images.get('cmyk.jpg')!;
  assertNear(pixel(cmyk, 2, 4), [150, 100, 80], 24, 'CMYK left half');
  assertNear(pixel(cmyk, 13, 4), [60, 90, 160], 24, 'CMYK right half');
  const grey = images.get('grey.png')!;
  assert.deepEqual(pixel(grey, 3, 3), [90, 90, 90], 'greyscale becomes R = G = B');
  const alpha = images.get('alpha.png')!;
  assert.deepEqual(pixel(alpha, 1, 1), [0, 200, 0], 'opaque pixels keep their colour');
  assert.deepEqual(pixel(alpha, 6, 2), [128, 128, 128], 'transparent pixels become mid-grey');

  // Orientation 6: the stored 40x20 becomes 20x40 and the stored top-left corner ends at the top right.
  const rotated = images.get('rotated.jpg')!;
  assert.deepEqual([rotated.width, rotated.height], [20, 40]);
  assertNear(pixel(rotated, 16, 3), [255, 0, 0], 40, 'marker at the top right');
  assertNear(pixel(rotated, 3, 3), [0, 0, 255], 40, 'top left is background');
  assertNear(pixel(rotated, 16, 36), [0, 0, 255], 40, 'bottom right is background');

  assert.equal(progress.length, results.length);
  progress.forEach(([done, total, path], i) => {
    assert.equal(done, i + 1);
    assert.equal(total, results.length);
    assert.equal(path, results[i].path);
  });
});

test('maxSidePx downscales after orientation with a real low-pass filter and never enlarges', async () => {
  const checker = sharp(rawImage(200, 100, (x, y) => ((x + y) % 2 ? [255, 255, 255] : [0, 0, 0])), {
    raw: { width: 200, height: 100, channels: 3 },
  });
  await checker.png().toFile(join(dir, 'checker.png'));
  const result = await importImageFile(join(dir, 'checker.png'), { maxSidePx: 50 });
  assert.ok('image' in result, 'reason' in result ? result.reason : '');
  assert.deepEqual([result.image.width, result.image.height], [50, 25]);
  // A 1-pixel checkerboard averages to grey; point sampling would leave pure black or white.
  for (const v of result.image.data) assert.ok(v > 100 && v < 155, `value ${v} is not a filtered average`);

  const rotated = await importImageFile(join(dir, 'rotated.jpg'), { maxSidePx: 10 });
  assert.ok('image' in rotated);
  assert.deepEqual([rotated.image.width, rotated.image.height], [5, 10]);
  const small = await importImageFile(join(dir, 'good.jpg'), { maxSidePx: 1000 });
  assert.ok('image' in small);
  assert.deepEqual([small.image.width, small.image.height], [32, 24]);
  await rm(join(dir, 'checker.png'));
});

test('an import can be aborted between files', async () => {
  const controller = new AbortController();
  const seen: string[] = [];
  await assert.rejects(async () => {
    for await (const result of importImages(dir, { signal: controller.signal })) {
      seen.push(result.path);
      controller.abort();
    }
  }, { name: 'AbortError' });
  assert.equal(seen.length, 1);
});
