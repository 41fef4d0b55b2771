import * as tf from '@tensorflow/tfjs-core';

/** A loss as data, so worker threads can build the same one. */
export type LossSpec = { kind: 'mse' } | { kind: 'cross-entropy' };

export type LossFn = (pred: tf.Tensor, target: tf.Tensor) => tf.Scalar;

export function makeLoss(spec: LossSpec): LossFn {
  switch (spec.kind) {
    case 'mse':
      return (p, t) => tf.mean(tf.squaredDifference(p, t));
    case 'cross-entropy':
      return (p, t) => tf.losses.softmaxCrossEntropy(t, p) as tf.Scalar;
  }
}
