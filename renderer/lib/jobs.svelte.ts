// Job events folded into reactive state per job id. Views start a job, keep its id and read
// `jobs[id]`; events that arrive before the call returns its id are not lost.
import type { JobFileEvent, JobId, JobInfo, JobKind, JobProgress, JobResults, JobStatus } from '../../common/jobs.ts';
import type { EnhanceError } from '../../common/errors.ts';
import { api, onEventStreamOpen, onJobEvent } from './api.ts';

export interface JobState {
  jobId: JobId;
  kind?: JobKind;
  title?: string;
  status: JobStatus;
  progress?: JobProgress;
  /** Per-file outcomes of a batch, in the order they finished. */
  files: JobFileEvent[];
  result?: JobResults[JobKind];
  error?: EnhanceError;
  log: string[];
}

export const jobs: Record<JobId, JobState> = $state({});

function ensure(jobId: JobId): JobState {
  jobs[jobId] ??= { jobId, status: 'running', files: [], log: [] };
  return jobs[jobId];
}

onJobEvent((e) => {
  const job = ensure(e.jobId);
  if (e.type === 'started') Object.assign(job, { kind: e.kind, title: e.title });
  else if (e.type === 'progress') job.progress = e.progress;
  else if (e.type === 'file') job.files.push(e.file);
  else if (e.type === 'log') job.log.push(e.message);
  else if (e.type === 'finished') Object.assign(job, { status: e.status, result: e.result, error: e.error });
});

function merge(info: JobInfo): void {
  const job = ensure(info.jobId);
  Object.assign(job, { kind: info.kind, title: info.title, status: info.status, progress: info.progress ?? job.progress, result: info.result, error: info.error });
}

// After a reconnect of the event stream, what finished meanwhile is read back.
onEventStreamOpen(() => {
  api.listJobs({}).then((list) => list.forEach(merge), () => {});
});
