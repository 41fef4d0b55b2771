import type { Batch, DataSource } from '../fit/batch.ts';
import { Rng, seedFor } from '../rng.ts';
import type { ImageStore } from './image-store.ts';
import { cropAt, epochSampler } from './sampling.ts';
import { augmentPair, degrade, type DegradeOptions, type Pair } from './tasks.ts';

export interface PairSourceOptions extends DegradeOptions {
  store: Pick<ImageStore, 'count' | 'get'>;
  batchSize: number;
  /** Side of the target crop; the input is this divided by the scale for low-res upscaling. */
  cropPx: number;
  /** Side of the validation crops (default cropPx): a later recipe phase with larger crops keeps its validation comparable. */
  validationCropPx?: number;
  seed?: number;
  /** Added to the epoch index when sampling, so a later phase of the same recipe does not replay the first epochs' crops. */
  epochOffset?: number;
  /** Default: one crop per training image per epoch. */
  batchesPerEpoch?: number;
  /** Images held out for validation (fixed crops and degradations, the same in every run). */
  validationImages?: number;
  augment?: boolean;
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
  const samples = epochSampler(train, seed, o.batchSize, batchesPerEpoch);

  const sample = async (index: number, rng: Rng | undefined): Promise<Pair> => {
    const crop = await cropAt(o.store.get(index), rng ? o.cropPx : (o.validationCropPx ?? o.cropPx), rng, align);
    const pair = await degrade(crop, rng ?? new Rng(seedFor(seed, `val/${index}`)), o);
    return rng && o.augment !== false ? augmentPair(pair, rng) : pair;
  };

  return {
    trainImages: train.length,
    validationImages: nVal,
    batchesPerEpoch,
    async batch(epoch, index) {
      return stack(await Promise.all(samples(epoch + (o.epochOffset ?? 0), index).map(({ item, rng }) => sample(item, rng))));
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
