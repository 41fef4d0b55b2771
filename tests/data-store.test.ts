import assert from 'node:assert/strict';
import { appendFile, cp, mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { importImageFile } from '../trainer/data/import-images.ts';
import { importToStore, openImageStore, type StoreSource } from '../trainer/data/image-store.ts';

const classes = [
  { id: 'a', name: 'class a' },
  { id: 'b', name: 'class b' },
];
let dir: string;
let sources: StoreSource[];

async function writeImage(path: string, widthPx: number, heightPx: number, seed: number): Promise<void> {
  const data = Buffer.alloc(widthPx * heightPx * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * seed + (i >> 5) * 17) % 256;
  const image = sharp(data, { raw: { width: widthPx, height: heightPx, channels: 3 } });
  await (path.endsWith('.png') ? image.png() : image.jpeg({ quality: 85 })).toFile(path);
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'enhance-store-'));
  sources = [];
  for (let i = 0; i < 12; i++) {
    const path = join(dir, `src-${String(i).padStart(2, '0')}.${i % 3 === 0 ? 'png' : 'jpg'}`);
    await writeImage(path, 20 + i * 3, 16 + ((i * 7) % 11), i + 3);
    sources.push({ path, label: i % 2 });
  }
  // A bad file in the middle: skipped, listed, and no hole in the store.
  const broken = join(dir, 'src-05b.jpg');
  await writeFile(broken, 'not a jpeg');
  sources.splice(6, 0, { path: broken, label: 1 });
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('store: interrupted + resumed import equals one uninterrupted import, byte for byte', async () => {
  const whole = join(dir, 'whole');
  const summary = await importToStore(whole, sources, { classes, flushEveryImages: 3 });
  assert.equal(summary.count, 12);
  assert.equal(summary.added, 12);
  assert.equal(summary.alreadyStored, 0);
  assert.deepEqual(summary.skipped.map((s) => s.path), [join(dir, 'src-05b.jpg')]);
  assert.match(summary.skipped[0].reason, /not a readable image/);

  const resumed = join(dir, 'resumed');
  const controller = new AbortController();
  await assert.rejects(
    importToStore(resumed, sources, {
      classes,
      flushEveryImages: 3,
      signal: controller.signal,
      onProgress: (done) => done === 8 && controller.abort(),
    }),
    { name: 'AbortError' },
  );
  const partial = openImageStore(resumed);
  // Sources 1..8 were handled; one of them is the broken file.
  assert.equal(partial.count, 7);
  assert.equal(partial.complete, false);
  partial.close();
  // As if the process died after writing pixels the index never heard of; longer than everything still to
  // come, so only truncation (not being overwritten) can remove it.
  await appendFile(join(resumed, 'pixels.bin'), Buffer.alloc(200_000, 0xab));

  const progress: [number, number][] = [];
  const second = await importToStore(resumed, sources, {
    classes,
    flushEveryImages: 3,
    onProgress: (done, total) => progress.push([done, total]),
  });
  assert.equal(second.alreadyStored, 7, 'stored sources are not decoded again');
  assert.equal(second.added, 5);
  assert.equal(second.count, 12);
  assert.deepEqual(second.skipped.map((s) => s.path), [join(dir, 'src-05b.jpg')]);
  assert.deepEqual(progress, [[8, 13], [9, 13], [10, 13], [11, 13], [12, 13], [13, 13]]);

  assert.deepEqual(await readFile(join(resumed, 'pixels.bin')), await readFile(join(whole, 'pixels.bin')));
  assert.deepEqual(JSON.parse(await readFile(join(resumed, 'index.json'), 'utf8')), JSON.parse(await readFile(join(whole, 'index.json'), 'utf8')));
  const store = openImageStore(resumed);
  assert.equal(store.complete, true);
  assert.deepEqual(store.classes, classes);
  store.close();
});

test('store: get(i) returns exactly the decoded pixels, with the label', async () => {
  const store = openImageStore(join(dir, 'whole'));
  const good = sources.filter((s) => !s.path.endsWith('05b.jpg'));
  assert.equal(store.count, good.length);
  let totalBytes = 0;
  for (let i = 0; i < store.count; i++) {
    const decoded = await importImageFile(good[i].path);
    assert.ok('image' in decoded);
    const stored = store.get(i);
    assert.deepEqual([stored.width, stored.height, stored.label], [decoded.image.width, decoded.image.height, good[i].label]);
    assert.deepEqual(stored.data, decoded.image.data);
    totalBytes += stored.data.length;
  }
  assert.equal((await stat(join(dir, 'whole', 'pixels.bin'))).size, totalBytes, 'the data file holds pixels and nothing else');
  assert.throws(() => store.get(store.count), RangeError);
  store.close();
});

test('store: a data file shorter than its index is refused, and a resume repairs it', async () => {
  const damaged = join(dir, 'damaged');
  await cp(join(dir, 'whole'), damaged, { recursive: true });
  const { size } = await stat(join(damaged, 'pixels.bin'));
  await truncate(join(damaged, 'pixels.bin'), size - 10);
  assert.throws(() => openImageStore(damaged), /shorter than its index/);

  const summary = await importToStore(damaged, sources, { classes });
  assert.deepEqual([summary.alreadyStored, summary.added], [11, 1]);
  assert.deepEqual(await readFile(join(damaged, 'pixels.bin')), await readFile(join(dir, 'whole', 'pixels.bin')));
});

test('store: a changed source is stored again; other options must match the store', async () => {
  const store = join(dir, 'whole');
  await assert.rejects(importToStore(store, sources, { classes, maxSidePx: 16 }), /maxSidePx/);
  await assert.rejects(importToStore(store, sources), /different class list/);

  const changed = sources[2];
  await writeImage(changed.path, 13, 9, 99);
  const summary = await importToStore(store, sources, { classes });
  assert.deepEqual([summary.count, summary.alreadyStored, summary.added], [12, 11, 1]);
  const opened = openImageStore(store);
  const last = opened.get(opened.count - 1);
  const decoded = await importImageFile(changed.path);
  assert.ok('image' in decoded);
  assert.deepEqual([last.width, last.height, last.label], [13, 9, changed.label]);
  assert.deepEqual(last.data, decoded.image.data);
  opened.close();
});
