import sharp from 'sharp';
import { Rng, seedFor } from '../rng.ts';
import type { StoredImage } from './image-store.ts';
import type { Crop } from './tasks.ts';

/**
 * A square crop: random (on a grid of `align` pixels) when given an rng, else the centre. A photo
 * smaller than the crop is enlarged just enough, rather than dropped.
 */
export async function cropAt(img: StoredImage, side: number, rng: Rng | undefined, align = 1): Promise<Crop> {
  let { data, width, height } = img;
  if (width < side || height < side) {
    const f = side / Math.min(width, height);
    width = Math.max(side, Math.round(width * f));
    height = Math.max(side, Math.round(height * f));
    data = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } }).resize(width, height, { kernel: 'cubic' }).raw().toBuffer();
  }
  const pick = (room: number) => (rng ? Math.floor(rng.int(room + 1) / align) * align : Math.floor(room / 2 / align) * align);
  const x0 = pick(width - side);
  const y0 = pick(height - side);
  const out = new Uint8Array(side * side * 3);
  for (let r = 0; r < side; r++) out.set(data.subarray(((y0 + r) * width + x0) * 3, ((y0 + r) * width + x0 + side) * 3), r * side * 3);
  return { data: out, width: side, height: side };
}

/**
 * Which items (and a per-sample rng) batch `index` of `epoch` takes: a seeded shuffle per pass over the
 * items, walking on into the next pass when an epoch is longer than the list. A pure function of
 * (seed, epoch, index), so a resumed run sees exactly the same samples.
 */
export function epochSampler(items: readonly number[], seed: number, batchSize: number, batchesPerEpoch: number):
  (epoch: number, index: number) => { item: number; rng: Rng }[] {
  let shuffled: { pass: number; order: number[] } | undefined;
  const order = (pass: number) => {
    if (shuffled?.pass !== pass) shuffled = { pass, order: new Rng(seedFor(seed, `epoch/${pass}`)).shuffle([...items]) };
    return shuffled.order;
  };
  return (epoch, index) => Array.from({ length: batchSize }, (_, i) => {
    const flat = (epoch * batchesPerEpoch + index) * batchSize + i;
    return { item: order(Math.floor(flat / items.length))[flat % items.length], rng: new Rng(seedFor(seed, `sample/${epoch}/${index}/${i}`)) };
  });
}
