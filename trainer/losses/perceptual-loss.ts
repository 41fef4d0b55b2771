// Perceptual (feature) loss from fast.ai's super-resolution lesson: pixel MSE plus λ times the MSE
// between a frozen pretrained classifier's encoder features of the prediction and of the target.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { yccToRgb } from '../../common/color.ts';
import { readCheckpoint } from '../fit/checkpoint.ts';
import { ParamRegistry } from '../models/blocks.ts';
import type { ClassifierOptions } from '../models/classifier.ts';
import { buildEncoder } from '../models/encoder.ts';
import { tfOps } from '../models/tf-model.ts';
import type { LossFn } from './losses.ts';

export interface PerceptualLossSpec {
  kind: 'perceptual';
  /** A classifier checkpoint (trainer/fit/checkpoint.ts), e.g. from trainer/pretrain. */
  classifierPath: string;
  /** Weight of the feature term; default 0.1 as in the lesson. */
  lambda?: number;
  /** Encoder stage compared (0 = the full-resolution start block); default the deepest stage. */
  layer?: number;
}

/** A classifier's encoder as constant tensors: not variables, so training never updates it. */
export interface FrozenEncoder {
  widths: number[];
  layer: number;
  /** Features of RGB images in [0, 1] at `layer`. Allocates: call inside the caller's tidy. */
  features(rgb: tf.Tensor): tf.Tensor;
  dispose(): void;
}

interface CacheEntry {
  /** Content hash: file times are too coarse (a rewrite within a few ms keeps mtime and size). */
  sha1: string;
  encoder: FrozenEncoder;
}

// Loaded once per thread and path (every training worker builds its own loss): a loss is made per run,
// and building the encoder and uploading its weights is the slow part (hashing the file is not).
const cache = new Map<string, CacheEntry>();

function loadEncoder(path: string, layer: number | undefined): FrozenEncoder {
  const c = readCheckpoint(path);
  if (c.state.spec.kind !== 'classifier') throw new Error(`${path}: a ${c.state.spec.kind} checkpoint; the perceptual loss needs a classifier`);
  const { widths, act } = c.state.spec.options as ClassifierOptions;
  const at = layer ?? widths.length - 1;
  if (!Number.isInteger(at) || at < 0 || at >= widths.length) {
    throw new Error(`perceptual loss: layer ${at} is not a stage of the classifier's ${widths.length}-stage encoder (0–${widths.length - 1})`);
  }
  // An encoder cut after `at` has the same parameter names as the full one and skips the deeper stages
  // (buildEncoder wants two stages at least).
  const reg = new ParamRegistry();
  const encoder = buildEncoder(reg, { widths: widths.slice(0, Math.max(2, at + 1)), act });
  const offsets = new Map<string, number>();
  let offset = 0;
  c.state.names.forEach((name, i) => {
    offsets.set(name, offset);
    offset += c.state.shapes[i].reduce((a, b) => a * b, 1);
  });
  const params = new Map<string, tf.Tensor>();
  for (const p of reg.specs) {
    const from = offsets.get(p.name);
    if (from === undefined) throw new Error(`${path}: the classifier lacks ${p.name}`);
    const size = p.shape.reduce((a, b) => a * b, 1);
    // Kept: the cache outlives any tidy this happens to be called in.
    params.set(p.name, tf.keep(tf.tensor(c.weights.slice(from, from + size), p.shape)));
  }
  const ops = tfOps(params);
  return {
    widths,
    layer: at,
    features: (rgb) => {
      // The classifier's own input normalisation (see classifier.ts).
      return encoder.features(ops, ops.addScalar(rgb, -0.5))[at];
    },
    dispose: () => tf.dispose([...params.values()]),
  };
}

/** The frozen encoder of the classifier at `path`, cached until the file changes. */
export function frozenEncoder(path: string, layer?: number): FrozenEncoder {
  const abs = resolve(path);
  const key = `${abs}#${layer ?? 'deepest'}`;
  const sha1 = createHash('sha1').update(readFileSync(abs)).digest('hex');
  const hit = cache.get(key);
  if (hit?.sha1 === sha1) return hit.encoder;
  // A rewritten classifier replaces the stale copy; losses made from the old one belong to finished runs.
  hit?.encoder.dispose();
  const encoder = loadEncoder(abs, layer);
  cache.set(key, { sha1, encoder });
  return encoder;
}

/** Frees every cached frozen encoder of this thread (their tensors live outside any tidy). */
export function releaseFrozenEncoders(): void {
  for (const e of cache.values()) e.encoder.dispose();
  cache.clear();
}

// Chroma -> RGB as one [2, 3] matrix taken from common/color.ts, so the loss cannot drift from the
// conversion the engine uses: RGB = Y + [Cb Cr]·M.
const chromaToRgbRows = [yccToRgb(0, 1, 0), yccToRgb(0, 0, 1)];

/** Colorize predicts (Cb, Cr) from Y: the classifier sees the RGB they make with the input's Y. */
function chromaToRgb(y: tf.Tensor, chroma: tf.Tensor): tf.Tensor {
  const [n, h, w] = chroma.shape as number[];
  const rgb = tf.matMul(tf.reshape(chroma, [-1, 2]), tf.tensor2d(chromaToRgbRows));
  return tf.add(y, tf.reshape(rgb, [n, h, w, 3]));
}

export function perceptualLoss(spec: PerceptualLossSpec): LossFn {
  const lambda = spec.lambda ?? 0.1;
  const encoder = frozenEncoder(spec.classifierPath, spec.layer);
  return (pred, target, input) => {
    const pixel = tf.mean(tf.squaredDifference(pred, target));
    const channels = pred.shape[pred.rank - 1];
    let p = pred;
    let t = target;
    if (channels === 2) {
      if (input.shape[input.rank - 1] !== 1) throw new Error('perceptual loss: a chroma prediction needs the luminance input (1 channel)');
      p = chromaToRgb(input, pred);
      t = chromaToRgb(input, target);
    } else if (channels !== 3) {
      throw new Error(`perceptual loss: predictions must be RGB or (Cb, Cr), not ${channels} channels`);
    }
    const feature = tf.mean(tf.squaredDifference(encoder.features(p), encoder.features(t)));
    return tf.add(pixel, tf.mul(feature, lambda)) as tf.Scalar;
  };
}
