// A data-parallel replica: holds a copy of the model, reads weights from the shared vector and
// writes its shard's gradient into its own shared slot. One per core; TF.js wasm in Node is single-threaded.
import { parentPort, workerData } from 'node:worker_threads';
import { selectBackend, type BackendChoice } from '../backends/select-backend.ts';
import type { ModelSpec } from '../models/build-model.ts';
import type { LossSpec } from '../losses/losses.ts';
import { LocalGradEngine } from './grad-engine.ts';
import type { WorkerReply, WorkerRequest } from './worker-grad-engine.ts';

const init = workerData as { spec: ModelSpec; lossSpec: LossSpec; backend: BackendChoice; weights: SharedArrayBuffer; grads: SharedArrayBuffer };
await selectBackend(init.backend);
const engine = new LocalGradEngine(init.spec, init.lossSpec, new Float32Array(init.weights));
const grads = new Float32Array(init.grads);
const port = parentPort!;

port.on('message', async (req: WorkerRequest) => {
  let reply: WorkerReply;
  try {
    const loss = req.type === 'grads'
      ? await engine.lossAndGrads(req.batch, req.trainable, req.changed, grads)
      : await engine.loss(req.batch, req.changed);
    reply = { id: req.id, loss };
  } catch (err) {
    reply = { id: req.id, error: String((err as Error)?.stack ?? err) };
  }
  port.postMessage(reply);
});
port.postMessage({ id: -1, loss: 0 } satisfies WorkerReply);
