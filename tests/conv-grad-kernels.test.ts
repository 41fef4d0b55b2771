import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's Node build lacks the gradient functions; the union package's Node build registers them all.
import '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { registerConvGradKernels } from '../trainer/backends/conv-grad-kernels.ts';

type Pad = 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]];
interface Case { n: number; h: number; w: number; ci: number; co: number; k: number; s: number; pad: Pad }

const c = (n: number, h: number, w: number, ci: number, co: number, k: number, s: number, pad: Pad): Case =>
  ({ n, h, w, ci, co, k, s, pad });

// The shapes the models use (1x1 and 3x3, stride 1 and 2), odd and even sizes,
// plus explicit pads and a few other kernels/strides the code handles generically.
const cases: Case[] = [
  c(1, 7, 9, 3, 4, 3, 1, 'same'), c(3, 8, 8, 5, 8, 3, 1, 'same'), c(3, 13, 6, 6, 3, 3, 1, 'same'),
  c(3, 8, 8, 4, 6, 3, 2, 'same'), c(1, 7, 9, 3, 5, 3, 2, 'same'), c(3, 13, 6, 6, 4, 3, 2, 'same'),
  c(1, 16, 16, 32, 32, 3, 2, 'same'), c(3, 13, 6, 2, 3, 3, 1, 'valid'), c(1, 7, 9, 3, 4, 3, 2, 'valid'),
  c(3, 8, 8, 4, 4, 3, 2, 'valid'), c(3, 8, 8, 3, 8, 1, 1, 'same'), c(1, 7, 9, 8, 3, 1, 1, 'same'),
  c(3, 13, 6, 4, 4, 1, 1, 'valid'), c(3, 7, 9, 4, 6, 1, 2, 'same'), c(1, 8, 8, 5, 3, 1, 2, 'valid'),
  c(1, 9, 7, 2, 3, 3, 1, [[0, 0], [2, 0], [1, 3], [0, 0]]), c(3, 9, 7, 2, 3, 3, 2, [[0, 0], [0, 3], [1, 0], [0, 0]]),
  c(3, 10, 10, 3, 2, 3, 3, 'valid'), c(1, 9, 11, 4, 6, 2, 2, 'same'),
];

const name = ({ n, h, w, ci, co, k, s, pad }: Case) =>
  `${k}x${k} stride ${s} ${typeof pad === 'string' ? pad : JSON.stringify(pad)} [${n},${h},${w},${ci}] -> ${co}`;

/**
 * dx and dW of sum(conv2d(x, W) * r) on the current backend, as plain arrays. Read back with
 * `data()`: WebGPU in Node has no synchronous read (it needs OffscreenCanvas).
 */
async function grads(cs: Case, x: Float32Array, w: Float32Array, r: Float32Array): Promise<[Float32Array, Float32Array]> {
  const [dx, dw] = tf.tidy(() => {
    const xt = tf.tensor4d(x, [cs.n, cs.h, cs.w, cs.ci]);
    const wt = tf.tensor4d(w, [cs.k, cs.k, cs.ci, cs.co]);
    const f = (a: tf.Tensor, b: tf.Tensor) => {
      const y = tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, cs.s, cs.pad);
      return tf.sum(tf.mul(y, tf.tensor(r, y.shape)));
    };
    return tf.grads(f)([xt, wt]);
  });
  try {
    return [(await dx.data()) as Float32Array, (await dw.data()) as Float32Array];
  } finally {
    tf.dispose([dx, dw]);
  }
}

function relErr(got: Float32Array, want: Float32Array): number {
  assert.equal(got.length, want.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  return diff / scale;
}

/** Reference gradients from the cpu backend's built-in kernels, for every case. */
async function references() {
  await tf.setBackend('cpu');
  return Promise.all(cases.map(async (cs, i) => {
    const rand = (shape: number[], seed: number) => tf.tidy(() => tf.randomNormal(shape, 0, 1, 'float32', seed).dataSync() as Float32Array);
    const x = rand([cs.n, cs.h, cs.w, cs.ci], 3 * i);
    const w = rand([cs.k, cs.k, cs.ci, cs.co], 3 * i + 1);
    const yShape = tf.tidy(() => tf.conv2d(tf.zeros([cs.n, cs.h, cs.w, cs.ci]) as tf.Tensor4D,
      tf.zeros([cs.k, cs.k, cs.ci, cs.co]) as tf.Tensor4D, cs.s, cs.pad).shape);
    const r = rand(yShape, 3 * i + 2);
    const [dx, dw] = await grads(cs, x, w, r);
    return { cs, x, w, r, dx, dw };
  }));
}

/** Runs every case on `backend` (ours registered) against the cpu reference. */
async function checkBackend(t: test.TestContext, backend: 'wasm' | 'webgpu', refs: Awaited<ReturnType<typeof references>>) {
  assert.ok(await tf.setBackend(backend));
  for (const ref of refs) {
    await t.test(name(ref.cs), async () => {
      const before = [tf.memory().numTensors, tf.engine().backend.numDataIds()];
      const [dx, dw] = await grads(ref.cs, ref.x, ref.w, ref.r);
      // Equal counts on both sides: no tensor, and no backend buffer our kernels made, leaks.
      assert.deepEqual([tf.memory().numTensors, tf.engine().backend.numDataIds()], before);
      const ex = relErr(dx, ref.dx);
      const ew = relErr(dw, ref.dw);
      assert.ok(ex <= 1e-5, `dx relative error ${ex}`);
      assert.ok(ew <= 1e-5, `dW relative error ${ew}`);
    });
  }
}

test('wasm: our Conv2D backward kernels match the cpu reference', async (t) => {
  const refs = await references();
  const builtinDx = tf.getKernel('Conv2DBackpropInput', 'wasm')?.kernelFunc;
  // wasm ships no Conv2DBackpropFilter, so every successful wasm dW below is ours.
  assert.equal(tf.getKernel('Conv2DBackpropFilter', 'wasm'), undefined);
  registerConvGradKernels('wasm');
  const ours = ['Conv2DBackpropInput', 'Conv2DBackpropFilter'].map((k) => tf.getKernel(k, 'wasm')?.kernelFunc);
  assert.ok(builtinDx && ours[0] && ours[0] !== builtinDx, 'the built-in Conv2DBackpropInput was replaced');
  registerConvGradKernels('wasm');
  assert.deepEqual(['Conv2DBackpropInput', 'Conv2DBackpropFilter'].map((k) => tf.getKernel(k, 'wasm')?.kernelFunc), ours,
    'registering twice keeps our kernels');
  await checkBackend(t, 'wasm', refs);
});

test('webgpu: our Conv2D backward kernels match the cpu reference', async (t) => {
  const { create, globals } = await import('webgpu');
  const gpu = create([]);
  if (!(await gpu.requestAdapter())) {
    t.skip('no WebGPU adapter (README "GPU" says how to install a software one)');
    return;
  }
  Object.assign(globalThis, globals);
  Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true });
  await import('@tensorflow/tfjs-backend-webgpu');
  const refs = await references();
  assert.ok(await tf.setBackend('webgpu'));
  const builtin = tf.getKernel('Conv2DBackpropFilter', 'webgpu')?.kernelFunc;
  registerConvGradKernels('webgpu');
  assert.notEqual(tf.getKernel('Conv2DBackpropFilter', 'webgpu')?.kernelFunc, builtin);
  await checkBackend(t, 'webgpu', refs);
});
