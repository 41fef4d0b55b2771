import * as tf from '@tensorflow/tfjs-core';
import { perceptualLoss, type PerceptualLossSpec } from './perceptual-loss.ts';

/** A loss as data, so worker threads can build the same one. */
export type LossSpec = { kind: 'mse' } | { kind: 'l1' } | { kind: 'cross-entropy' } | PerceptualLossSpec;

/** `input` is the model's input: colorize's perceptual loss needs its luminance to rebuild RGB. */
export type LossFn = (pred: tf.Tensor, target: tf.Tensor, input: tf.Tensor) => tf.Scalar;

export function makeLoss(spec: LossSpec): LossFn {
  switch (spec.kind) {
    case 'mse':
      return (p, t) => tf.mean(tf.squaredDifference(p, t));
    case 'l1':
      return (p, t) => tf.mean(tf.abs(tf.sub(p, t)));
    case 'cross-entropy':
      return (p, t) => tf.losses.softmaxCrossEntropy(t, p) as tf.Scalar;
    case 'perceptual':
      return perceptualLoss(spec);
  }
}
