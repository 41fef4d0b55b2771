// A training run in its own process, so a test can SIGKILL it and resume it like a user would.
import { writeFileSync } from 'node:fs';
import { selectBackend } from '../../trainer/backends/select-backend.ts';
import { trainRun } from '../../trainer/fit/train-run.ts';
import { syntheticSource } from '../../trainer/data/synthetic-source.ts';

const [checkpointPath, outPath, epochs] = process.argv.slice(2);
const { backend } = await selectBackend('wasm');
const r = await trainRun({
  spec: { kind: 'unet', options: { task: 'decrappify', scale: 1, widths: [8, 16, 32] } },
  loss: { kind: 'mse' },
  data: syntheticSource({ batchSize: 4, cropPx: 16, batchesPerEpoch: 6, seed: 3 }),
  stages: [{ epochs: Number(epochs), lr: 3e-3 }],
  seed: 7,
  backend,
  checkpointPath,
});
writeFileSync(outPath, new Uint8Array(r.weights.buffer, r.weights.byteOffset, r.weights.byteLength));
process.stdout.write(JSON.stringify({ resumedFromEpoch: r.resumedFromEpoch ?? null, completed: r.completed }) + '\n');
