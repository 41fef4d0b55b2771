import { test } from 'node:test';
import '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { backendOrder, selectBackend } from '../trainer/backends/select-backend.ts';

test('picks the fastest backend that starts and says why each faster one was skipped', async () => {
  const sel = await selectBackend();
  assert.equal(tf.getBackend(), sel.backend === 'tensorflow-gpu' ? 'tensorflow' : sel.backend);
  const faster = backendOrder.slice(0, backendOrder.indexOf(sel.backend));
  assert.deepEqual(sel.skipped.map((s) => s.backend), faster);
  for (const s of sel.skipped) {
    assert.match(s.why, /^(not installed|no GPU adapter|failed to load: .+)/);
    assert.ok(sel.line.includes(`${s.backend}: ${s.why}`), sel.line);
  }
  assert.match(sel.line, new RegExp(`^backend: ${sel.backend}`));
  // A backend that can train: a gradient step runs on it.
  const g = tf.grad((x: tf.Tensor) => tf.sum(tf.square(x)))(tf.tensor([1, 2, 3]));
  assert.deepEqual([...(await g.data())], [2, 4, 6]);
});

test('a forced backend runs, or fails loudly instead of falling back', async () => {
  const cpu = await selectBackend('cpu');
  assert.equal(tf.getBackend(), 'cpu');
  assert.equal(cpu.line, 'backend: cpu (forced)');
  const gpu = selectBackend('tensorflow-gpu');
  // Where tfjs-node-gpu is installed this runs; elsewhere it must throw, not quietly pick another.
  await gpu.then(() => assert.equal(tf.getBackend(), 'tensorflow'), (err: Error) => assert.match(err.message, /no TF\.js backend could start: tensorflow-gpu: /));
});
