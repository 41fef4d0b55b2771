// Pretrains the classifier whose encoder becomes the U-Net's down path (and the perceptual loss's
// feature extractor): supervised on a labelled dataset, or self-supervised on unlabelled photos by
// predicting which of 4 rotations was applied, so a user with only their own photos gets an encoder too.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendChoice } from '../backends/select-backend.ts';
import { type ImageStore, importToStore, openImageStore, type StoredImage, type StoreSource } from '../data/image-store.ts';
import type { SkippedFile } from '../data/import-images.ts';
import { type ClassInfo, readLabelledDataset } from '../data/labelled-layouts.ts';
import { cropAt, epochSampler } from '../data/sampling.ts';
import { dihedral } from '../../common/dihedral.ts';
import type { Batch, DataSource } from '../fit/batch.ts';
import type { FitEvent } from '../fit/callbacks.ts';
import { type Checkpoint, type EpochRecord, readCheckpoint, writeCheckpoint } from '../fit/checkpoint.ts';
import { ParamLayout } from '../fit/param-layout.ts';
import { trainRun } from '../fit/train-run.ts';
import { buildModel, type ModelSpec } from '../models/build-model.ts';
import type { ClassifierOptions } from '../models/classifier.ts';
import { TfModel } from '../models/tf-model.ts';
import { Rng, seedFor } from '../rng.ts';

export type PretrainMode = 'supervised' | 'rotation';

/** Rotation pretraining's labels: class k is the photo turned by `dihedral` k, i.e. k·90° counter-clockwise. */
export const rotationClasses: ClassInfo[] = [0, 90, 180, 270].map((deg) => ({ id: `rot${deg}`, name: `turned ${deg}° counter-clockwise` }));

export interface ImageSplit {
  store: Pick<ImageStore, 'count' | 'get'>;
  /** Store indices that belong to this split. */
  images: number[];
}

export interface ClassifierSourceOptions {
  mode: PretrainMode;
  train: ImageSplit;
  /** Held-out images: fixed centre crops (and, for rotation, fixed turns), the same every epoch. */
  val?: ImageSplit;
  /** Supervised: the dataset's class count (the store's labels index it). Rotation has its own 4. */
  classes?: number;
  batchSize: number;
  cropPx: number;
  seed?: number;
}

/** A crop as floats in [0, 1]. */
async function cropFloat(img: StoredImage, side: number, rng: Rng | undefined): Promise<Float32Array> {
  return Float32Array.from((await cropAt(img, side, rng)).data, (v) => v / 255);
}

interface Sample {
  x: Float32Array;
  label: number;
}

function stack(samples: Sample[], classes: number, side: number): Batch {
  const n = samples.length;
  const x = new Float32Array(n * side * side * 3);
  const y = new Float32Array(n * classes);
  samples.forEach((s, i) => {
    x.set(s.x, i * s.x.length);
    y[i * classes + s.label] = 1;
  });
  return { x, xShape: [n, side, side, 3], y, yShape: [n, classes] };
}

/**
 * Classifier batches from image stores: a shuffled order per epoch, a random crop and horizontal flip per
 * sample, and for rotation a random turn as the label. A function of (seed, epoch, index), so resumes match.
 */
export function classifierSource(o: ClassifierSourceOptions):
  DataSource & { trainImages: number; heldOutImages: number; validation(): Batch[] | Promise<Batch[]> } {
  const seed = o.seed ?? 0;
  const classes = o.mode === 'rotation' ? rotationClasses.length : o.classes;
  if (classes === undefined || classes < 2) throw new Error('supervised pretraining needs the class count (2 or more)');
  const side = o.cropPx;
  const train = o.train.images;
  if (train.length === 0) throw new Error('no images to pretrain on');
  const batchesPerEpoch = Math.max(1, Math.floor(train.length / o.batchSize));
  const samples = epochSampler(train, seed, o.batchSize, batchesPerEpoch);
  let validation: Promise<Batch[]> | undefined;

  const labelOf = (img: StoredImage): number => {
    if (img.label === undefined || img.label < 0 || img.label >= classes) throw new Error(`image without a label in 0–${classes - 1} in a supervised store`);
    return img.label;
  };

  const trainSample = async (index: number, rng: Rng): Promise<Sample> => {
    const img = o.train.store.get(index);
    let x = await cropFloat(img, side, rng);
    // A mirrored photo is still an upright photo: flip first, then (rotation) turn it.
    if (rng.next() < 0.5) x = dihedral(x, side, side, 3, 4).data;
    if (o.mode === 'supervised') return { x, label: labelOf(img) };
    const k = rng.int(4);
    return { x: dihedral(x, side, side, 3, k).data, label: k };
  };

  // Each held-out image once; rotation cycles its turn through 0–3 so the four classes stay balanced.
  const heldOutSample = async (split: ImageSplit, position: number): Promise<Sample> => {
    const img = split.store.get(split.images[position]);
    const x = await cropFloat(img, side, undefined);
    if (o.mode === 'supervised') return { x, label: labelOf(img) };
    const k = position % 4;
    return { x: dihedral(x, side, side, 3, k).data, label: k };
  };

  return {
    trainImages: train.length,
    heldOutImages: o.val?.images.length ?? 0,
    batchesPerEpoch,
    async batch(epoch, index) {
      return stack(await Promise.all(samples(epoch, index).map(({ item, rng }) => trainSample(item, rng))), classes, side);
    },
    validation() {
      const val = o.val;
      if (!val) return [];
      validation ??= (async () => {
        const batches: Batch[] = [];
        for (let i = 0; i < val.images.length; i += o.batchSize) {
          const positions = [...Array(Math.min(o.batchSize, val.images.length - i)).keys()].map((j) => i + j);
          batches.push(stack(await Promise.all(positions.map((p) => heldOutSample(val, p))), classes, side));
        }
        return batches;
      })();
      return validation;
    },
  };
}

export interface Accuracy {
  accuracy: number;
  correct: number;
  total: number;
}

/** Top-1 accuracy of a classifier on one-hot labelled batches, on the current backend. */
export async function evaluateAccuracy(spec: ModelSpec, weights: Map<string, Float32Array>, batches: Iterable<Batch>): Promise<Accuracy> {
  const model = new TfModel(buildModel(spec));
  try {
    model.writeWeights(weights);
    let correct = 0;
    let total = 0;
    for (const b of batches) {
      const hits = tf.tidy(() => {
        const predicted = tf.argMax(model.apply(tf.tensor(b.x, b.xShape)), 1);
        return tf.sum(tf.cast(tf.equal(predicted, tf.argMax(tf.tensor(b.y, b.yShape), 1)), 'int32'));
      });
      try {
        correct += (await hits.data())[0];
      } finally {
        hits.dispose();
      }
      total += b.xShape[0];
    }
    return { accuracy: total > 0 ? correct / total : NaN, correct, total };
  } finally {
    model.dispose();
  }
}

/**
 * The `encoder/...` weights of a classifier checkpoint, as `trainRun({ initialWeights })` takes them for a
 * U-Net with the same encoder `widths` (the two build their encoders alike, so the names match).
 */
export function copyEncoder(classifier: string | Checkpoint, widths: number[]): Map<string, Float32Array> {
  const c = typeof classifier === 'string' ? readCheckpoint(classifier) : classifier;
  const what = typeof classifier === 'string' ? classifier : 'the checkpoint';
  if (c.state.spec.kind !== 'classifier') throw new Error(`${what} holds a ${c.state.spec.kind}, not a classifier`);
  const have = (c.state.spec.options as ClassifierOptions).widths;
  if (have.join() !== widths.join()) {
    throw new Error(`${what}: the classifier's encoder has widths ${have.join(',')}, the U-Net ${widths.join(',')}; ` +
      `pretrain a classifier with --widths ${widths.join(',')}`);
  }
  const layout = new ParamLayout(buildModel(c.state.spec).params);
  if (layout.names.join() !== c.state.names.join()) throw new Error(`${what} does not match the classifier architecture of this version`);
  const out = new Map<string, Float32Array>();
  // Copies, so the whole checkpoint (Adam moments included) can be collected.
  for (const [name, w] of layout.toMap(c.weights)) if (name.startsWith('encoder/')) out.set(name, w.slice());
  return out;
}

export interface PretrainOptions {
  mode: PretrainMode;
  /** Supervised: a labelled dataset (see readLabelledDataset). Rotation: any folder of photos. */
  dataDir: string;
  /**
   * Rotation: a folder of held-out photos. Supervised uses the dataset's own val split. Without
   * either, a seeded tenth of the training photos is held out.
   */
  valDir?: string;
  /** Where the decoded images are kept (train/ and val/ stores), reused by later runs. */
  storeDir: string;
  /** The checkpoint: written every epoch, resumed from if it exists. */
  out: string;
  widths: number[];
  epochs: number;
  /** Peak one-cycle learning rate; default 3e-3. */
  lr?: number;
  batchSize: number;
  cropPx: number;
  /** Photos are downscaled to this longer side when stored, so a crop sees much of the photo; default 1.25 × crop. */
  maxSidePx?: number;
  backend: BackendChoice;
  workers?: number;
  seed?: number;
  onImport?: (split: 'train' | 'val', done: number, total: number, path: string) => void;
  onEvent?: (e: FitEvent) => void;
  signal?: AbortSignal;
}

export interface PretrainResult {
  completed: boolean;
  stoppedBecause?: string;
  classes: ClassInfo[];
  trainImages: number;
  heldOutImages: number;
  /** Held-out top-1 accuracy (absent when stopped early). */
  heldOut?: Accuracy;
  history: EpochRecord[];
  resumedFromEpoch?: number;
  skipped: SkippedFile[];
}

interface PreparedData {
  train: ImageSplit;
  val: ImageSplit;
  classes: ClassInfo[];
  skipped: SkippedFile[];
  close(): void;
}

async function prepareData(o: PretrainOptions): Promise<PreparedData> {
  const maxSidePx = o.maxSidePx ?? Math.round(o.cropPx * 1.25);
  const skipped: SkippedFile[] = [];
  const opened: ImageStore[] = [];
  const load = async (split: 'train' | 'val', sources: string | readonly StoreSource[], classes?: ClassInfo[]) => {
    const dir = join(o.storeDir, split);
    const s = await importToStore(dir, sources, { maxSidePx, classes, signal: o.signal, onProgress: o.onImport && ((d, t, p) => o.onImport!(split, d, t, p)) });
    skipped.push(...s.skipped);
    const store = openImageStore(dir);
    opened.push(store);
    return store;
  };
  const all = (store: ImageStore): ImageSplit => ({ store, images: [...Array(store.count).keys()] });
  try {
    let classes = rotationClasses;
    let train: ImageStore;
    let val: ImageStore | undefined;
    if (o.mode === 'supervised') {
      const ds = await readLabelledDataset(o.dataDir);
      if (ds.classes.length < 2 || ds.train.length === 0) throw new Error(`${o.dataDir}: no labelled dataset with at least two classes found`);
      classes = ds.classes;
      train = await load('train', ds.train, ds.classes);
      if (ds.val.length > 0) val = await load('val', ds.val, ds.classes);
    } else {
      train = await load('train', o.dataDir);
      if (o.valDir) val = await load('val', o.valDir);
    }
    if (val && val.count > 0) return { train: all(train), val: all(val), classes, skipped, close: () => opened.forEach((s) => s.close()) };
    if (train.count < 2) throw new Error(`${o.dataDir}: at least two readable images are needed (one is held out)`);
    const order = new Rng(seedFor(o.seed ?? 0, 'split')).shuffle([...Array(train.count).keys()]);
    const nVal = Math.max(1, Math.round(train.count / 10));
    return {
      train: { store: train, images: order.slice(nVal) },
      val: { store: train, images: order.slice(0, nVal) },
      classes, skipped, close: () => opened.forEach((s) => s.close()),
    };
  } catch (err) {
    opened.forEach((s) => s.close());
    throw err;
  }
}

/**
 * Imports the photos into stores, trains the classifier with cross-entropy (one one-cycle stage), and
 * records the held-out accuracy, classes and mode in the checkpoint's config (`config.pretrain`).
 * The caller selects the backend first; workers select the same one.
 */
export async function pretrainClassifier(o: PretrainOptions): Promise<PretrainResult> {
  const data = await prepareData(o);
  try {
    const spec: ModelSpec = { kind: 'classifier', options: { widths: o.widths, classes: data.classes.length } };
    // A resume must be of this very classifier: a different class count keeps the parameter names,
    // so the trainer alone would not notice.
    if (existsSync(o.out)) {
      const had = readCheckpoint(o.out).state.spec;
      if (JSON.stringify(had) !== JSON.stringify(spec)) {
        throw new Error(`${o.out} holds a different model (${JSON.stringify(had.options)}, not ${JSON.stringify(spec.options)}); ` +
          'choose another output file or delete it');
      }
    } else {
      mkdirSync(dirname(o.out), { recursive: true });
    }
    const source = classifierSource({
      mode: o.mode, train: data.train, val: data.val, classes: data.classes.length, batchSize: o.batchSize, cropPx: o.cropPx, seed: o.seed,
    });
    const r = await trainRun({
      spec, loss: { kind: 'cross-entropy' }, data: source, stages: [{ epochs: o.epochs, lr: o.lr ?? 3e-3 }], seed: o.seed,
      backend: o.backend, workers: o.workers, checkpointPath: o.out, onEvent: o.onEvent, signal: o.signal,
    });
    const result: PretrainResult = {
      completed: r.completed, stoppedBecause: r.stoppedBecause, classes: data.classes, trainImages: source.trainImages,
      heldOutImages: source.heldOutImages, history: r.history, resumedFromEpoch: r.resumedFromEpoch, skipped: data.skipped,
    };
    if (!r.completed) return result;
    result.heldOut = await evaluateAccuracy(spec, r.layout.toMap(r.weights), await source.validation());
    const c = readCheckpoint(o.out);
    c.state.config = {
      ...c.state.config,
      pretrain: { mode: o.mode, classes: data.classes, cropPx: o.cropPx, trainImages: source.trainImages, heldOut: result.heldOut },
    };
    writeCheckpoint(o.out, c);
    return result;
  } finally {
    data.close();
  }
}
