// npx tsx trainer/bench/profile-train-step.ts [--backend wasm] [--batch 8]
// Per-kernel time of one training step (forward + backward) of the reference U-Net, 64×64 crops.
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import { type BackendChoice, selectBackend } from '../backends/select-backend.ts';
import { createUNet, referenceUNetOptions } from '../models/unet.ts';
import { TfModel } from '../models/tf-model.ts';

const { values } = parseArgs({ options: { backend: { type: 'string', default: 'wasm' }, batch: { type: 'string', default: '8' } } });
const sel = await selectBackend(values.backend as BackendChoice);
console.log(sel.line);
const n = Number(values.batch);
const model = new TfModel(createUNet(referenceUNetOptions), 1);
const vars = [...model.params.values()];
const x = tf.randomUniform([n, 64, 64, 3]);
const y = tf.randomUniform([n, 64, 64, 3]);
const step = () => tf.tidy(() => {
  const { value, grads } = tf.variableGrads(() => tf.mean(tf.squaredDifference(model.apply(x), y)), vars);
  return [value, ...Object.values(grads)];
});
tf.dispose(step()); // warm-up
const t0 = performance.now();
const info = await tf.profile(() => step());
const wallMs = performance.now() - t0;
const byKernel = new Map<string, { ms: number; calls: number }>();
for (const k of info.kernels) {
  const e = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
  e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
  e.calls++;
  byKernel.set(k.name, e);
}
const rows = [...byKernel].sort((a, b) => b[1].ms - a[1].ms);
const total = rows.reduce((a, [, e]) => a + e.ms, 0);
console.log(`kernel                       calls      ms    share`);
for (const [name, e] of rows.slice(0, 18)) {
  console.log(`${name.padEnd(28)} ${String(e.calls).padStart(5)} ${e.ms.toFixed(1).padStart(8)} ${((100 * e.ms) / total).toFixed(1).padStart(7)}%`);
}
console.log(`kernels ${total.toFixed(0)} ms, step wall ${wallMs.toFixed(0)} ms (profiling adds overhead), ${(n / (wallMs / 1000)).toFixed(2)} img/s`);
console.log(JSON.stringify({ bench: 'profile-train-step', backend: sel.backend, batch: n, kernels: Object.fromEntries(rows.map(([k, e]) => [k, Number(e.ms.toFixed(1))])) }));
