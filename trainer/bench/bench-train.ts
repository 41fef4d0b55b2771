// npm run bench:train [-- --quick] [--backends wasm,cpu] [--batch 8] [--steps N]
// Trains the reference U-Net (1.84 M parameters, 64×64 crops, AdamW) for a fixed number of steps on
// every backend that starts here; each row runs in its own process, since a TF.js backend is per process.
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { backendOrder, type BackendChoice, selectBackend } from '../backends/select-backend.ts';
import { trainRun } from '../fit/train-run.ts';
import { syntheticSource } from '../data/synthetic-source.ts';
import * as tf from '@tensorflow/tfjs-core';
import type { Batch } from '../fit/batch.ts';
import { TfModel } from '../models/tf-model.ts';
import { createUNet, referenceUNetOptions } from '../models/unet.ts';

/** fwdImgPerSec: one thread's inference speed on the same batches, the yardstick for how fast this machine is. */
interface Row { backend: string; workers: number; batch: number; steps: number; imgPerSec: number; fwdImgPerSec?: number; note?: string; adapter?: string }

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    backends: { type: 'string' },
    batch: { type: 'string' },
    steps: { type: 'string' },
    row: { type: 'string' },
  },
});

async function forwardImgPerSec(batch: number, steps: number): Promise<number> {
  const model = new TfModel(createUNet(referenceUNetOptions), 1);
  const x = tf.tensor((syntheticSource({ batchSize: batch, cropPx: 64, batchesPerEpoch: 1 }).batch(0, 0) as Batch).x, [batch, 64, 64, 3]);
  const run = async () => tf.dispose(await model.predict(x).data());
  await run();
  const started = performance.now();
  for (let i = 0; i < steps; i++) await run();
  const seconds = (performance.now() - started) / 1000;
  x.dispose();
  model.dispose();
  return (steps * batch) / seconds;
}

async function runRow(backend: BackendChoice, workers: number, batch: number, steps: number, asked: boolean): Promise<Row> {
  // A software WebGPU adapter (lavapipe) only when --backends names webgpu, as `enhance train --backend webgpu` forces it.
  const sel = await selectBackend(backend, { allowSoftwareAdapter: asked });
  process.stderr.write(`${sel.line}\n`);
  // Two warm-up steps (kernel set-up, XNNPACK operator caches), then one-step epochs that are timed;
  // the pure-JS backend has nothing to warm up and takes minutes a step.
  const warmup = backend === 'cpu' ? 0 : 2;
  const r = await trainRun({
    spec: { kind: 'unet', options: referenceUNetOptions },
    loss: { kind: 'mse' },
    data: syntheticSource({ batchSize: batch, cropPx: 64, batchesPerEpoch: 1 }),
    stages: [{ epochs: warmup + steps, lr: 1e-3 }],
    backend: sel.backend,
    workers,
  });
  const timed = r.history.slice(warmup);
  const timedImgPerSec = (timed.length * batch) / timed.reduce((a, h) => a + h.seconds, 0);
  const adapter = sel.adapter && (sel.adapter.software ? `software adapter, ${sel.adapter.software} (${sel.adapter.label})` : sel.adapter.label);
  return { backend, workers, batch, steps, imgPerSec: timedImgPerSec, fwdImgPerSec: workers ? undefined : await forwardImgPerSec(batch, steps), adapter };
}

if (values.row) {
  const [b, w, n, s, asked] = values.row.split(':');
  process.stdout.write(JSON.stringify(await runRow(b as BackendChoice, Number(w), Number(n), Number(s), asked === 'asked')) + '\n');
} else {
  const quick = values.quick;
  const wanted = (values.backends?.split(',') ?? backendOrder) as BackendChoice[];
  const batch = Number(values.batch ?? 8);
  const rows: Row[] = [];
  for (const backend of wanted) {
    // The pure-JS backend takes minutes per step on this model: one step says enough.
    const steps = Number(values.steps ?? (backend === 'cpu' ? 1 : quick ? 3 : 10));
    const configs = backend === 'wasm' ? [0, 2] : [0];
    for (const workers of configs) {
      if (backend === 'cpu' && (quick || !values.backends)) {
        rows.push({ backend, workers, batch, steps: 0, imgPerSec: NaN, note: 'about 10 minutes a step: measure it with --backends cpu' });
        continue;
      }
      try {
        const out = execFileSync(process.execPath, [...process.execArgv, process.argv[1], '--row', `${backend}:${workers}:${batch}:${steps}:${values.backends ? 'asked' : 'auto'}`],
          { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
        rows.push(JSON.parse(out.trim().split('\n').pop()!));
      } catch (err) {
        const stderr = String((err as { stderr?: string }).stderr ?? err);
        const reason = stderr.split('\n').filter((l) => /^\w*Error: /.test(l)).pop() ?? stderr.trim().split('\n').pop();
        rows.push({ backend, workers, batch, steps: 0, imgPerSec: NaN, note: reason?.replace(/^Error: (no TF\.js backend could start: )?/, '') });
      }
      const r = rows[rows.length - 1];
      process.stderr.write(`${r.backend}${r.workers ? ` ×${r.workers} workers` : ''}: ${Number.isNaN(r.imgPerSec) ? r.note : `${r.imgPerSec.toFixed(2)} img/s${r.adapter ? ` on ${r.adapter}` : ''}`}\n`);
    }
  }
  console.log('\nbackend     workers  batch  steps  train img/s  forward img/s (1 thread)');
  for (const r of rows) {
    console.log(`${r.backend.padEnd(11)} ${String(r.workers).padStart(7)} ${String(r.batch).padStart(6)} ${String(r.steps).padStart(6)}  ${
      Number.isNaN(r.imgPerSec) ? `-  (${r.note})` : `${r.imgPerSec.toFixed(2).padStart(11)}  ${r.fwdImgPerSec?.toFixed(2) ?? ''}`}`);
  }
  console.log(JSON.stringify({ bench: 'train', model: 'unet-32-64-128-256', cropPx: 64, results: rows.map((r) => ({
    backend: r.backend, workers: r.workers, batch: r.batch, imgPerSec: Number.isNaN(r.imgPerSec) ? null : Number(r.imgPerSec.toFixed(3)),
    ...(r.fwdImgPerSec ? { fwdImgPerSec: Number(r.fwdImgPerSec.toFixed(3)) } : {}), ...(r.note ? { note: r.note } : {}), ...(r.adapter ? { adapter: r.adapter } : {}) })) }));
}
