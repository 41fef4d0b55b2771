// Times, on wasm, every conv shape of the reference U-Net at 64x64, batch 8:
// forward Conv2D, the built-in Conv2DBackpropInput vs ours, and our
// Conv2DBackpropFilter (wasm has no built-in one).
// Run: npx tsx trainer/bench/conv-grad-profile.ts
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import type { KernelBackend, KernelFunc, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import { registerConvGradKernels } from '../backends/conv-grad-kernels.ts';

const BATCH = 8;

interface ConvShape { hw: number; ci: number; co: number; k: number; s: number; uses: number }

/** Every conv of ResBlock(ni, nf, s) at input size hw: 3x3 ni->nf, 3x3 nf->nf
 * stride s, and the shortcut's 1x1 (after a 2x2 avg-pool when s = 2). */
function resBlock(hw: number, ni: number, nf: number, s = 1): Omit<ConvShape, 'uses'>[] {
  const convs = [{ hw, ci: ni, co: nf, k: 3, s: 1 }, { hw, ci: nf, co: nf, k: 3, s }];
  if (ni !== nf) convs.push({ hw: hw / s, ci: ni, co: nf, k: 1, s: 1 });
  return convs;
}

function unetShapes(): ConvShape[] {
  const all = [
    ...resBlock(64, 3, 32),
    ...resBlock(64, 32, 64, 2), ...resBlock(32, 64, 128, 2), ...resBlock(16, 128, 256, 2),
    ...resBlock(16, 256, 128), ...resBlock(32, 128, 64), ...resBlock(64, 64, 32),
    ...resBlock(64, 32, 3),
  ];
  const byKey = new Map<string, ConvShape>();
  for (const c of all) {
    const key = JSON.stringify(c);
    const seen = byKey.get(key);
    if (seen) seen.uses++;
    else byKey.set(key, { ...c, uses: 1 });
  }
  return [...byKey.values()];
}

/** Best wall time of `fn` in ms over a few runs after a warm-up (the minimum,
 * as other processes only ever add time); the output is freed each time. wasm
 * kernels run synchronously, so no readback is needed to wait for them. */
function time(backend: KernelBackend, fn: () => TensorInfo): number {
  const runOnce = (): number => {
    const t0 = performance.now();
    const out = fn();
    const ms = performance.now() - t0;
    backend.disposeData(out.dataId);
    return ms;
  };
  runOnce();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < 2 || (times.length < 10 && performance.now() - start < 1000)) times.push(runOnce());
  return Math.min(...times);
}

await tf.setBackend('wasm');
await tf.ready();
const builtinDx = tf.getKernel('Conv2DBackpropInput', 'wasm')!.kernelFunc;
registerConvGradKernels('wasm');
const backend = tf.backend();
const call = (kernel: string | KernelFunc, inputs: NamedTensorInfoMap, attrs: NamedAttrMap) => () =>
  (typeof kernel === 'string' ? tf.getKernel(kernel, 'wasm')!.kernelFunc : kernel)({ inputs, backend, attrs }) as TensorInfo;

console.log(`wasm, batch ${BATCH}, 'same' padding, best-of-N ms (SIMD ${tf.env().getBool('WASM_HAS_SIMD_SUPPORT')}, ` +
  `threads ${tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT')})`);
const rows: string[][] = [['shape (in -> out)', 'uses', 'fwd', 'dx built-in', 'dx ours', 'dx gain', 'dW ours']];
const totals = [0, 0, 0, 0];
for (const c of unetShapes()) {
  const [x, w, dy] = tf.tidy(() => {
    const xt = tf.randomNormal([BATCH, c.hw, c.hw, c.ci]) as tf.Tensor4D;
    const wt = tf.randomNormal([c.k, c.k, c.ci, c.co]) as tf.Tensor4D;
    return [xt, wt, tf.randomNormal(tf.conv2d(xt, wt, c.s, 'same').shape)];
  });
  const conv = { strides: c.s, pad: 'same', dataFormat: 'NHWC' } as const;
  const dxAttrs = { ...conv, inputShape: x.shape };
  const ms = [
    time(backend, call('Conv2D', { x, filter: w }, { ...conv, dilations: 1 })),
    time(backend, call(builtinDx, { dy, filter: w }, dxAttrs)),
    time(backend, call('Conv2DBackpropInput', { dy, filter: w }, dxAttrs)),
    time(backend, call('Conv2DBackpropFilter', { x, dy }, { ...conv, filterShape: w.shape })),
  ];
  ms.forEach((m, i) => (totals[i] += m * c.uses));
  rows.push([`${c.k}x${c.k}/${c.s} ${c.hw}x${c.hw}x${c.ci} -> ${dy.shape.slice(1).join('x')}`, String(c.uses),
    ...ms.slice(0, 3).map((m) => m.toFixed(1)), `${(ms[1] / ms[2]).toFixed(1)}x`, ms[3].toFixed(1)]);
  tf.dispose([x, w, dy]);
}
rows.push(['total (x uses)', '', ...totals.slice(0, 3).map((m) => m.toFixed(0)), `${(totals[1] / totals[2]).toFixed(1)}x`,
  totals[3].toFixed(0)]);
const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
for (const r of rows) console.log(r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '));
