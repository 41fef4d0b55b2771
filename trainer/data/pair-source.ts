import sharp from 'sharp';
import type { Batch, DataSource } from '../fit/batch.ts';
import { Rng, seedFor } from '../rng.ts';
import type { ImageStore, StoredImage } from './image-store.ts';
import { augmentPair, type Crop, degrade, type DegradeOptions, type Pair } from './tasks.ts';

export interface PairSourceOptions extends DegradeOptions {
  store: Pick<ImageStore, 'count' | 'get'>;
  batchSize: number;
  /** Side of the target crop; the input is this divided by the scale for low-res upscaling. */
  cropPx: number;
  seed?: number;
  /** Default: one crop per training image per epoch. */
  batchesPerEpoch?: number;
  /** Images held out for validation (fixed crops and degradations, the same in every run). */
  validationImages?: number;
  augment?: boolean;
}

async function cropAt(img: StoredImage, side: number, rng: Rng | undefined, align: number): Promise<Crop> {
  let { data, width, height } = img;
  if (width < side || height < side) {
    // Small photos are enlarged just enough to fit one crop, rather than dropped.
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

function stack(pairs: Pair[]): Batch {
  const n = pairs.length;
  const x = new Float32Array(n * pairs[0].input.length);
  const y = new Float32Array(n * pairs[0].target.length);
  pairs.forEach((p, i) => {
    x.set(p.input, i * p.input.length);
    y.set(p.target, i * p.target.length);
  });
  return { x, xShape: [n, ...pairs[0].inputShape], y, yShape: [n, ...pairs[0].targetShape] };
}

/**
 * Training pairs from a prepared store: a seeded split into train and validation images, a shuffled
 * order per epoch, a random aligned crop, the task's degradation and a random symmetry per sample.
 * Everything is a function of (seed, epoch, index), so a resumed run sees exactly the same batches.
 */
export function pairSource(o: PairSourceOptions): DataSource & { trainImages: number; validationImages: number } {
  const seed = o.seed ?? 0;
  const order = new Rng(seedFor(seed, 'split')).shuffle([...Array(o.store.count).keys()]);
  const nVal = Math.min(o.validationImages ?? Math.min(8, Math.floor(o.store.count / 10)), o.store.count - 1);
  const val = order.slice(0, nVal);
  const train = order.slice(nVal);
  if (train.length === 0) throw new Error('the store has no images to train on');
  const batchesPerEpoch = o.batchesPerEpoch ?? Math.max(1, Math.floor(train.length / o.batchSize));
  const align = o.task === 'upscale' ? o.scale : 1;
  let validation: Promise<Batch[]> | undefined;
  let shuffled: { k: number; order: number[] } | undefined;

  const sample = async (index: number, rng: Rng | undefined): Promise<Pair> => {
    const crop = await cropAt(o.store.get(index), o.cropPx, rng, align);
    const pair = await degrade(crop, rng ?? new Rng(seedFor(seed, `val/${index}`)), o);
    return rng && o.augment !== false ? augmentPair(pair, rng) : pair;
  };

  return {
    trainImages: train.length,
    validationImages: nVal,
    batchesPerEpoch,
    async batch(epoch, index) {
      // Epochs longer than the image list walk on through the next shuffles.
      const perm = (k: number) => {
        if (shuffled?.k !== k) shuffled = { k, order: new Rng(seedFor(seed, `epoch/${k}`)).shuffle([...train]) };
        return shuffled.order;
      };
      const pairs: Promise<Pair>[] = [];
      for (let i = 0; i < o.batchSize; i++) {
        const flat = (epoch * batchesPerEpoch + index) * o.batchSize + i;
        const img = perm(Math.floor(flat / train.length))[flat % train.length];
        pairs.push(sample(img, new Rng(seedFor(seed, `sample/${epoch}/${index}/${i}`))));
      }
      return stack(await Promise.all(pairs));
    },
    validation() {
      validation ??= (async () => {
        const batches: Batch[] = [];
        for (let i = 0; i < val.length; i += o.batchSize) {
          batches.push(stack(await Promise.all(val.slice(i, i + o.batchSize).map((img) => sample(img, undefined)))));
        }
        return batches;
      })();
      return validation;
    },
  };
}
