import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { readLabelledDataset, type LabelledImage } from '../trainer/data/labelled-layouts.ts';

let dir: string;
let jpeg: Buffer;

async function put(path: string, content: Buffer | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content);
}

/** Paths relative to the dataset root, with their labels, for readable comparisons. */
function relativeLabels(root: string, images: LabelledImage[]): [string, number][] {
  return images.map(({ path, label }) => [relative(root, path).split('\\').join('/'), label]);
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'enhance-layouts-'));
  jpeg = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 10, g: 120, b: 200 } } }).jpeg().toBuffer();
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('Tiny ImageNet layout: wnids, words.txt names, train/<wnid>/images and annotated val', async () => {
  const root = join(dir, 'tiny');
  // wnids.txt not sorted on purpose: labels follow sorted ids, as ImageFolder would give.
  await put(join(root, 'wnids.txt'), 'n02123045\nn01443537\n');
  await put(
    join(root, 'words.txt'),
    'n00001740\tentity\nn01443537\tgoldfish, Carassius auratus\nn02123045\ttabby, tabby cat\nn09999999\tunused class\n',
  );
  for (const wnid of ['n01443537', 'n02123045']) {
    for (const i of [0, 1]) await put(join(root, 'train', wnid, 'images', `${wnid}_${i}.JPEG`), jpeg);
    await put(join(root, 'train', wnid, `${wnid}_boxes.txt`), `${wnid}_0.JPEG\t0\t0\t8\t8\n`);
  }
  for (const i of [0, 1, 2]) await put(join(root, 'val', 'images', `val_${i}.JPEG`), jpeg);
  await put(
    join(root, 'val', 'val_annotations.txt'),
    'val_0.JPEG\tn02123045\t0\t1\t7\t8\nval_1.JPEG\tn01443537\t2\t2\t6\t6\nval_2.JPEG\tn02123045\t0\t0\t8\t8\n',
  );

  const dataset = await readLabelledDataset(root);
  assert.equal(dataset.layout, 'tiny-imagenet');
  assert.deepEqual(dataset.classes, [
    { id: 'n01443537', name: 'goldfish' },
    { id: 'n02123045', name: 'tabby' },
  ]);
  assert.deepEqual(relativeLabels(root, dataset.train), [
    ['train/n01443537/images/n01443537_0.JPEG', 0],
    ['train/n01443537/images/n01443537_1.JPEG', 0],
    ['train/n02123045/images/n02123045_0.JPEG', 1],
    ['train/n02123045/images/n02123045_1.JPEG', 1],
  ]);
  assert.deepEqual(relativeLabels(root, dataset.val), [
    ['val/images/val_0.JPEG', 1],
    ['val/images/val_1.JPEG', 0],
    ['val/images/val_2.JPEG', 1],
  ]);

  await put(join(root, 'val', 'val_annotations.txt'), 'val_0.JPEG\tn07777777\t0\t0\t8\t8\n');
  await assert.rejects(readLabelledDataset(root), /n07777777.*not in wnids\.txt/);
});

test('train/<class> + val/<class> folders with classes.txt names', async () => {
  const root = join(dir, 'split');
  await put(join(root, 'classes.txt'), 'n01440764\ttench\nn02102040 English springer\n');
  await put(join(root, 'train', 'n02102040', 'b.JPEG'), jpeg);
  await put(join(root, 'train', 'n02102040', 'a.JPEG'), jpeg);
  await put(join(root, 'train', 'n01440764', 'c.jpg'), jpeg);
  await put(join(root, 'train', 'n01440764', 'notes.txt'), 'not an image');
  await put(join(root, 'val', 'n01440764', 'd.png'), jpeg);
  await put(join(root, 'val', 'n03000684', 'e.jpg'), jpeg); // a class seen only in val still gets a label

  const dataset = await readLabelledDataset(root);
  assert.equal(dataset.layout, 'split-folders');
  assert.deepEqual(dataset.classes, [
    { id: 'n01440764', name: 'tench' },
    { id: 'n02102040', name: 'English springer' },
    { id: 'n03000684', name: 'n03000684' },
  ]);
  assert.deepEqual(relativeLabels(root, dataset.train), [
    ['train/n01440764/c.jpg', 0],
    ['train/n02102040/a.JPEG', 1],
    ['train/n02102040/b.JPEG', 1],
  ]);
  assert.deepEqual(relativeLabels(root, dataset.val), [
    ['val/n01440764/d.png', 0],
    ['val/n03000684/e.jpg', 2],
  ]);
});

test('plain <class>/* folders are all train', async () => {
  const root = join(dir, 'flat');
  await put(join(root, 'dogs', 'x.jpg'), jpeg);
  await put(join(root, 'cats', 'y.jpg'), jpeg);
  await put(join(root, 'cats', 'kittens', 'z.jpg'), jpeg);
  await put(join(root, 'index.html'), '<p>not a class</p>');

  const dataset = await readLabelledDataset(root);
  assert.equal(dataset.layout, 'class-folders');
  assert.deepEqual(dataset.classes, [
    { id: 'cats', name: 'cats' },
    { id: 'dogs', name: 'dogs' },
  ]);
  assert.deepEqual(relativeLabels(root, dataset.train), [
    ['cats/kittens/z.jpg', 0],
    ['cats/y.jpg', 0],
    ['dogs/x.jpg', 1],
  ]);
  assert.deepEqual(dataset.val, []);
});
