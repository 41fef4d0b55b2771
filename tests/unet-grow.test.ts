// A recipe may grow a trained model (`grow: { headBlocks }`): the new blocks must start as the identity,
// so the grown model's first output is the trained model's, and training goes on from there.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { TfModel } from '../trainer/models/tf-model.ts';
import { createUNet, type UNetOptions } from '../trainer/models/unet.ts';
import { Rng } from '../trainer/rng.ts';

before(async () => {
  await tf.setBackend('cpu');
});

for (const base of [
  { task: 'upscale', scale: 4, resolution: 'low-res', widths: [8, 16, 32] },
  { task: 'decrappify', scale: 1, widths: [8, 16, 32], skip: 'concat' },
] as UNetOptions[]) {
  test(`growing ${base.task} ×${base.scale} by head blocks keeps its output until they train`, async () => {
    const rng = new Rng(3);
    const trained = new TfModel(createUNet(base), 1);
    const grown = new TfModel(createUNet({ ...base, headBlocks: 2 }), 2);
    try {
      // Random values everywhere (the seeded init leaves the head at zero), as a trained model has.
      const weights = new Map([...(await trained.readWeights())].map(([n, v]) => [n, Float32Array.from(v, () => rng.normal() * 0.1)]));
      trained.writeWeights(weights);
      const grownWeights = await grown.readWeights();
      const added = [...grownWeights.keys()].filter((n) => !weights.has(n)).map((n) => n.split('/').slice(0, 2).join('/'));
      assert.deepEqual([...new Set(added)], ['head/refine1', 'head/refine2']);
      grown.writeWeights(new Map([...grownWeights, ...weights]));
      const x = tf.tensor4d(Float32Array.from({ length: 2 * 16 * 24 * 3 }, () => rng.next()), [2, 16, 24, 3]);
      const before = tf.tidy(() => trained.predict(x).dataSync());
      const after = tf.tidy(() => grown.predict(x).dataSync());
      assert.deepEqual(after, before);
      // Once a new block's last conv moves off zero, the output changes: the blocks are wired in.
      const kernel = grownWeights.get('head/refine2/conv2/kernel')!;
      grown.writeWeights(new Map([...grownWeights, ...weights, ['head/refine2/conv2/kernel', kernel.map(() => 0.05)]]));
      const changed = tf.tidy(() => grown.predict(x).dataSync());
      assert.ok(changed.some((v, i) => Math.abs(v - before[i]) > 1e-4));
      x.dispose();
    } finally {
      trained.dispose();
      grown.dispose();
    }
  });
}
