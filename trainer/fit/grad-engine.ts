import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's Node build lacks the gradient functions; the union package's Node build registers them all.
import '@tensorflow/tfjs';
import { buildModel, type ModelSpec } from '../models/build-model.ts';
import { TfModel } from '../models/tf-model.ts';
import { makeLoss, type LossFn, type LossSpec } from '../losses/losses.ts';
import type { Batch } from './batch.ts';
import { ParamLayout } from './param-layout.ts';

/** Computes the loss and its gradient for the parameters being trained; the optimizer lives elsewhere. */
export interface GradEngine {
  /**
   * `changed`: parameters whose values in the shared weight vector changed since the last call.
   * Writes the batch-mean gradient of the `trainable` parameters into `grads` (others untouched).
   */
  lossAndGrads(batch: Batch, trainable: number[], changed: number[], grads: Float32Array): Promise<number>;
  loss(batch: Batch, changed: number[]): Promise<number>;
  dispose(): Promise<void>;
}

/** Runs on the current TF.js backend in this thread, reading weights from a flat vector. */
export class LocalGradEngine implements GradEngine {
  readonly model: TfModel;
  private readonly layout: ParamLayout;
  private readonly lossFn: LossFn;

  constructor(spec: ModelSpec, lossSpec: LossSpec, private readonly weights: Float32Array) {
    const def = buildModel(spec);
    this.model = new TfModel(def);
    this.layout = new ParamLayout(def.params);
    this.lossFn = makeLoss(lossSpec);
  }

  private sync(changed: number[]): void {
    for (const i of changed) {
      const v = this.model.params.get(this.layout.names[i])!;
      tf.tidy(() => v.assign(tf.tensor(this.layout.view(this.weights, i), v.shape)));
    }
  }

  async lossAndGrads(batch: Batch, trainable: number[], changed: number[], grads: Float32Array): Promise<number> {
    this.sync(changed);
    const vars = trainable.map((i) => this.model.params.get(this.layout.names[i])!);
    const kept = tf.tidy(() => {
      const x = tf.tensor(batch.x, batch.xShape);
      const y = tf.tensor(batch.y, batch.yShape);
      const { value, grads: g } = tf.variableGrads(() => this.lossFn(this.model.apply(x), y, x), vars);
      return [value, ...vars.map((v) => g[v.name])];
    });
    try {
      const values = await Promise.all(kept.map((t) => t.data() as Promise<Float32Array>));
      trainable.forEach((p, k) => grads.set(values[k + 1], this.layout.offsets[p]));
      return values[0][0];
    } finally {
      tf.dispose(kept);
    }
  }

  async loss(batch: Batch, changed: number[]): Promise<number> {
    this.sync(changed);
    const l = tf.tidy(() => {
      const x = tf.tensor(batch.x, batch.xShape);
      return this.lossFn(this.model.apply(x), tf.tensor(batch.y, batch.yShape), x);
    });
    try {
      return (await l.data())[0];
    } finally {
      l.dispose();
    }
  }

  async dispose(): Promise<void> {
    this.model.dispose();
  }
}
