// Runs one job body in a worker thread, so inference and training never block the process that
// serves the window (Electron main or `enhance serve`). Protocol: workerData {kind, options};
// parent -> worker 'cancel'; worker -> parent WorkerMessage.
import { parentPort, workerData } from 'node:worker_threads';
import type { JobKind } from '../../common/jobs.ts';
import { jobFunctions } from './job-functions.ts';
import { toEnhanceError } from './to-enhance-error.ts';
import type { JobFunction, JobOptions } from './job-types.ts';
import type { WorkerMessage } from './runner.ts';

const { kind, options } = workerData as { kind: JobKind; options: JobOptions[JobKind] };
const abort = new AbortController();
const post = (m: WorkerMessage) => parentPort!.postMessage(m);
parentPort!.on('message', (m: unknown) => {
  if (m === 'cancel') abort.abort();
});

try {
  const fn = (await jobFunctions[kind]()) as JobFunction<JobKind>;
  const result = await fn(options, { signal: abort.signal, emit: (event) => post({ type: 'event', event }) });
  post({ type: 'result', result });
} catch (e) {
  post({ type: 'error', error: toEnhanceError(e), cancelled: abort.signal.aborted });
}
parentPort!.close();
