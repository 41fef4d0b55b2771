import { Worker } from 'node:worker_threads';
import { workerUrl } from '../worker-url.ts';
import type { BackendChoice } from '../backends/select-backend.ts';
import type { ModelSpec } from '../models/build-model.ts';
import type { LossSpec } from '../losses/losses.ts';
import { type Batch, shardBatch } from './batch.ts';
import type { GradEngine } from './grad-engine.ts';
import type { ParamLayout } from './param-layout.ts';

export type WorkerRequest = { id: number; type: 'grads' | 'loss'; batch: Batch; trainable: number[]; changed: number[] };
export type WorkerReply = { id: number; loss: number } | { id: number; error: string };

interface Replica {
  worker: Worker;
  grads: Float32Array;
  pending: Map<number, { resolve: (loss: number) => void; reject: (e: Error) => void }>;
}

/**
 * Data parallelism over worker threads: each replica takes a shard of the batch; the batch gradient
 * is their size-weighted mean, summed in a fixed order so runs stay reproducible.
 * `weights` must live in a SharedArrayBuffer: replicas read it directly, without copies.
 */
export class WorkerGradEngine implements GradEngine {
  /** Replica threads alive in this process (started and not yet exited): a long-lived app checks it returns to 0. */
  static liveWorkers = 0;
  private nextId = 0;
  private constructor(private readonly replicas: Replica[], private readonly layout: ParamLayout) {}

  static async start(o: { spec: ModelSpec; lossSpec: LossSpec; backend: BackendChoice; layout: ParamLayout; weights: Float32Array; workers: number }):
    Promise<WorkerGradEngine> {
    if (!(o.weights.buffer instanceof SharedArrayBuffer)) throw new Error('weights must be backed by a SharedArrayBuffer');
    const started: Worker[] = [];
    const replicas = await Promise.all(Array.from({ length: o.workers }, () => new Promise<Replica>((resolve, reject) => {
      const grads = new SharedArrayBuffer(o.layout.total * 4);
      const worker = new Worker(workerUrl(import.meta.url, 'grad-worker'), {
        workerData: { spec: o.spec, lossSpec: o.lossSpec, backend: o.backend, weights: o.weights.buffer, grads },
      });
      started.push(worker);
      WorkerGradEngine.liveWorkers++;
      worker.once('exit', () => WorkerGradEngine.liveWorkers--);
      const r: Replica = { worker, grads: new Float32Array(grads), pending: new Map() };
      worker.on('message', (m: WorkerReply) => {
        if (m.id === -1) return resolve(r);
        const p = r.pending.get(m.id);
        r.pending.delete(m.id);
        if ('error' in m) p?.reject(new Error(`training worker: ${m.error}`));
        else p?.resolve(m.loss);
      });
      worker.once('error', (e) => {
        reject(e);
        for (const p of r.pending.values()) p.reject(e);
      });
    }))).catch(async (e) => {
      // One replica failed to start: the others must not outlive the failed run.
      await Promise.all(started.map((w) => w.terminate()));
      throw e;
    });
    return new WorkerGradEngine(replicas, o.layout);
  }

  private send(r: Replica, req: Omit<WorkerRequest, 'id'>): Promise<number> {
    const id = this.nextId++;
    // Shards are views into one batch: copy each so it can be transferred rather than cloned.
    const batch = { ...req.batch, x: req.batch.x.slice(), y: req.batch.y.slice() };
    return new Promise((resolve, reject) => {
      r.pending.set(id, { resolve, reject });
      r.worker.postMessage({ ...req, id, batch }, [batch.x.buffer, batch.y.buffer]);
    });
  }

  async lossAndGrads(batch: Batch, trainable: number[], changed: number[], grads: Float32Array): Promise<number> {
    const shards = shardBatch(batch, this.replicas.length);
    const losses = await Promise.all(shards.map((s, k) => this.send(this.replicas[k], { type: 'grads', batch: s, trainable, changed })));
    const n = batch.xShape[0];
    for (const p of trainable) {
      const start = this.layout.offsets[p];
      const end = start + this.layout.sizes[p];
      grads.fill(0, start, end);
      shards.forEach((s, k) => {
        const w = s.xShape[0] / n;
        const g = this.replicas[k].grads;
        for (let i = start; i < end; i++) grads[i] += w * g[i];
      });
    }
    return shards.reduce((a, s, k) => a + (losses[k] * s.xShape[0]) / n, 0);
  }

  async loss(batch: Batch, changed: number[]): Promise<number> {
    const shards = shardBatch(batch, this.replicas.length);
    // Replicas that get no shard must still see the weight changes before their next step.
    const losses = await Promise.all(this.replicas.map((r, k) =>
      this.send(r, { type: 'loss', batch: shards[k] ?? shards[0], trainable: [], changed })));
    const n = batch.xShape[0];
    return shards.reduce((a, s, k) => a + (losses[k] * s.xShape[0]) / n, 0);
  }

  async dispose(): Promise<void> {
    await Promise.all(this.replicas.map((r) => r.worker.terminate()));
  }
}
