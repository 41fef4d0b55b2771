import { randomUUID } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { EnhanceError } from '../../common/errors.ts';
import type { JobEvent, JobId, JobInfo, JobKind, JobResults } from '../../common/jobs.ts';
import { workerUrl } from '../../trainer/worker-url.ts';
import { jobFunctions } from './job-functions.ts';
import type { JobEventBody, JobFunction, JobOptions } from './job-types.ts';
import { toEnhanceError } from './to-enhance-error.ts';

export type WorkerMessage =
  | { type: 'event'; event: JobEventBody }
  | { type: 'result'; result: unknown }
  | { type: 'error'; error: EnhanceError; cancelled: boolean };

interface Running {
  info: JobInfo;
  cancel(): void;
  done: Promise<JobInfo>;
  lastProgressMs: number;
  pendingProgress?: JobEventBody;
  flushTimer?: NodeJS.Timeout;
}

export interface JobRunnerOptions {
  /** 'worker': each job in its own worker thread (app, browser mode); 'in-process': the CLI. */
  mode: 'worker' | 'in-process';
  /** Progress events per job at most this often; file, log and finish events always pass. */
  progressEveryMs?: number;
}

/** Starts, cancels and lists jobs, and fans their events out to listeners with the job id added. */
export class JobRunner {
  private readonly jobs = new Map<JobId, Running>();
  private readonly listeners = new Set<(e: JobEvent) => void>();

  constructor(private readonly o: JobRunnerOptions) {}

  onEvent(listener: (e: JobEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start<K extends JobKind>(kind: K, options: JobOptions[K], title: string): JobId {
    const jobId = randomUUID();
    const info: JobInfo = { jobId, kind, title, status: 'running', startedAt: Date.now() };
    let cancel = () => {};
    const job: Running = { info, cancel: () => cancel(), done: Promise.resolve(info), lastProgressMs: 0 };
    this.jobs.set(jobId, job);
    this.emit({ type: 'started', jobId, kind, title });
    const onBody = (e: JobEventBody) => this.forward(job, e);
    const finish = (status: 'done' | 'cancelled' | 'failed' | 'paused', result?: JobResults[K], error?: EnhanceError): JobInfo => {
      if (job.pendingProgress) this.forward(job, job.pendingProgress, true);
      Object.assign(info, { status, result, error });
      this.emit({ type: 'finished', jobId, status, result, error });
      return info;
    };
    if (this.o.mode === 'in-process') {
      const abort = new AbortController();
      cancel = () => abort.abort();
      job.done = (async () => {
        try {
          const fn = (await jobFunctions[kind]()) as JobFunction<K>;
          const result = await fn(options, { signal: abort.signal, emit: onBody });
          return finish(stoppedStatus(result), result);
        } catch (e) {
          return finish(abort.signal.aborted ? 'cancelled' : 'failed', undefined, toEnhanceError(e));
        }
      })();
    } else {
      const worker = new Worker(workerUrl(import.meta.url, 'job-worker'), { workerData: { kind, options } });
      cancel = () => worker.postMessage('cancel');
      job.done = new Promise<JobInfo>((resolve) => {
        let settled: JobInfo | undefined;
        worker.on('message', (m: WorkerMessage) => {
          if (m.type === 'event') onBody(m.event);
          else if (m.type === 'result') settled = finish(stoppedStatus(m.result), m.result as JobResults[K]);
          else settled = finish(m.cancelled ? 'cancelled' : 'failed', undefined, m.error);
        });
        worker.on('error', (e) => {
          settled ??= finish('failed', undefined, toEnhanceError(e));
        });
        worker.on('exit', (code) => {
          resolve(settled ?? finish('failed', undefined, { code: 'internal', message: `the job's worker exited with code ${code}` }));
        });
      });
    }
    return jobId;
  }

  cancel(jobId: JobId): boolean {
    const job = this.jobs.get(jobId);
    if (!job || job.info.status !== 'running') return false;
    job.cancel();
    return true;
  }

  has(jobId: JobId): boolean {
    return this.jobs.has(jobId);
  }

  list(): JobInfo[] {
    return [...this.jobs.values()].map((j) => ({ ...j.info }));
  }

  /** Resolves when the job has finished, whatever the outcome. */
  wait(jobId: JobId): Promise<JobInfo> {
    const job = this.jobs.get(jobId);
    if (!job) return Promise.reject(new Error(`no job ${jobId}`));
    return job.done;
  }

  /** Cancels everything still running and waits for it (app quit, server stop, tests). */
  async dispose(): Promise<void> {
    for (const j of this.jobs.values()) if (j.info.status === 'running') j.cancel();
    await Promise.all([...this.jobs.values()].map((j) => j.done));
  }

  private forward(job: Running, e: JobEventBody, flush = false): void {
    if (e.type === 'progress') {
      job.info.progress = e.progress;
      const now = Date.now();
      const everyMs = this.o.progressEveryMs ?? 100;
      if (!flush && now - job.lastProgressMs < everyMs && e.progress.fraction < 1) {
        job.pendingProgress = e;
        job.flushTimer ??= setTimeout(() => {
          job.flushTimer = undefined;
          if (job.pendingProgress) this.forward(job, job.pendingProgress, true);
        }, everyMs);
        return;
      }
      clearTimeout(job.flushTimer);
      job.flushTimer = undefined;
      job.lastProgressMs = now;
      job.pendingProgress = undefined;
    }
    this.emit({ ...e, jobId: job.info.jobId } as JobEvent);
  }

  private emit(e: JobEvent): void {
    for (const l of this.listeners) l(e);
  }
}

/** A batch stopped by its signal returns a summary rather than throwing; a paused training says so. */
function stoppedStatus(result: unknown): 'done' | 'cancelled' | 'paused' {
  const r = (typeof result === 'object' && result !== null ? result : {}) as { cancelled?: unknown; status?: unknown };
  return r.status === 'paused' ? 'paused' : r.cancelled === true ? 'cancelled' : 'done';
}
