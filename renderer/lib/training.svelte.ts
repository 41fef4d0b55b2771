// Fine-tuning runs and their live telemetry, shared by the Train view's parts. Runs come from
// listRuns (their stored history survives an app restart); points that arrive as `train` events are
// batched into state once per animation frame, so a fast run does not re-render per step.
import type { ApiArgs } from '../../common/api.ts';
import type { EnhanceError } from '../../common/errors.ts';
import type { JobId, RunInfo, TrainPoint } from '../../common/jobs.ts';
import type { Stage } from '../../common/model-manifest.ts';
import { api, onEventStreamOpen, onJobEvent, toEnhanceError } from './api.ts';

class Training {
  runs: RunInfo[] = $state.raw([]);
  loaded = $state(false);
  error: EnhanceError | undefined = $state();
  /** Points received by event since the page loaded, per job (replaced, never mutated: raw state). */
  live: Record<JobId, TrainPoint[]> = $state.raw({});
  /** The job a start or resume call returned, per run, before the run list says so. */
  launched: Record<string, JobId> = $state.raw({});
}

export const training = new Training();

const trainJobs = new Set<JobId>();
/** Jobs that finished: their points are in the stored history once the next run list arrives. */
const finishedJobs = new Set<JobId>();
const pending = new Map<JobId, TrainPoint[]>();
let frame = 0;
let reloads = 0;

function flush(): void {
  if (frame) cancelAnimationFrame(frame);
  frame = 0;
  if (pending.size === 0) return;
  const next = { ...training.live };
  for (const [jobId, points] of pending) next[jobId] = (next[jobId] ?? []).concat(points);
  pending.clear();
  training.live = next;
}

export async function reloadRuns(): Promise<void> {
  const seq = ++reloads;
  const settled = [...finishedJobs];
  try {
    const runs = await api.listRuns({});
    // An older answer arriving after a newer one would show a run as it was before a start or resume.
    if (seq !== reloads) return;
    for (const r of runs) if (r.jobId) trainJobs.add(r.jobId);
    const live = { ...training.live };
    for (const jobId of settled) {
      delete live[jobId];
      finishedJobs.delete(jobId);
    }
    training.live = live;
    training.runs = runs;
    training.error = undefined;
  } catch (e) {
    if (seq === reloads) training.error = toEnhanceError(e);
  } finally {
    training.loaded = true;
  }
}

onJobEvent((e) => {
  if (e.type === 'train') {
    trainJobs.add(e.jobId);
    const list = pending.get(e.jobId);
    if (list) list.push(e.point);
    else pending.set(e.jobId, [e.point]);
    frame ||= requestAnimationFrame(flush);
  } else if (e.type === 'started' && e.kind === 'train') {
    trainJobs.add(e.jobId);
  } else if (e.type === 'finished' && trainJobs.has(e.jobId)) {
    flush();
    finishedJobs.add(e.jobId);
    void reloadRuns();
  }
});
onEventStreamOpen(() => void reloadRuns());

function launched(runId: string, jobId: JobId): void {
  trainJobs.add(jobId);
  training.launched = { ...training.launched, [runId]: jobId };
}

export async function startRun(plan: ApiArgs<'startTraining'>): Promise<{ jobId: JobId; runId: string }> {
  const started = await api.startTraining(plan);
  launched(started.runId, started.jobId);
  await reloadRuns();
  return started;
}

export async function resumeRun(runId: string): Promise<{ jobId: JobId; runId: string }> {
  const resumed = await api.resumeTraining({ runId });
  // The run's history was cut back to its checkpoint: drop this page's copies of its older jobs' points.
  const live = { ...training.live };
  const older = training.launched[runId];
  if (older) delete live[older];
  training.live = live;
  launched(runId, resumed.jobId);
  await reloadRuns();
  return resumed;
}

/** The job training the run now, as far as this page knows. */
export function runJobId(run: RunInfo): JobId | undefined {
  return run.jobId ?? training.launched[run.runId];
}

/** The run's stored history continued by the points its job sent since. */
export function runPoints(run: RunInfo, live: Record<JobId, TrainPoint[]>): TrainPoint[] {
  const jobId = runJobId(run);
  const fresh = jobId ? live[jobId] : undefined;
  if (!fresh?.length) return run.history;
  const first = fresh[0].step;
  const cut = run.history.findIndex((p) => p.step >= first);
  return (cut < 0 ? run.history : run.history.slice(0, cut)).concat(fresh);
}

/** One stage as the editor holds it: text while the user types, checked before it is sent. */
export interface StageDraft {
  key: number;
  epochs: number | null;
  lr: string;
  freeze: string[];
}

let nextKey = 1;

export function stageDraft(stage: Stage): StageDraft {
  return { key: nextKey++, epochs: stage.epochs, lr: formatLr(stage.lr), freeze: [...(stage.freeze ?? [])] };
}

const defaultLr = 1e-3;

/** Gradual unfreezing: the encoder frozen for an epoch, then everything at a fifth of the rate. */
export function defaultStages(groups: readonly string[]): StageDraft[] {
  if (!groups.includes('encoder')) return [stageDraft({ epochs: 2, lr: defaultLr })];
  return [stageDraft({ epochs: 1, lr: defaultLr, freeze: ['encoder'] }), stageDraft({ epochs: 1, lr: defaultLr / 5 })];
}

/** 0.001 → "1e-3", 0.00025 → "2.5e-4". */
export function formatLr(lr: number): string {
  return Number(lr.toPrecision(3)).toExponential();
}

/** The stages to send, or each stage's problem in the words the back end uses for the rest. */
export function parseStages(drafts: readonly StageDraft[], groups: readonly string[]): { stages?: Stage[]; errors: string[] } {
  const errors: string[] = [];
  const stages = drafts.map((d, i): Stage => {
    const lr = Number(d.lr.trim());
    if (d.epochs === null || !Number.isInteger(d.epochs) || d.epochs < 1 || d.epochs > 10_000) {
      errors.push(`stage ${i + 1}: epochs must be a whole number from 1 to 10000`);
    }
    if (d.lr.trim() === '' || !Number.isFinite(lr) || lr < 0 || lr > 10) errors.push(`stage ${i + 1}: the learning rate must be a number such as 1e-3`);
    // A group the current model lacks (the base model changed) is dropped rather than reported.
    const freeze = d.freeze.filter((g) => groups.includes(g));
    return { epochs: d.epochs ?? 0, lr, ...(freeze.length ? { freeze } : {}) };
  });
  return errors.length ? { errors } : { stages, errors };
}

export function halveRates(drafts: readonly StageDraft[]): StageDraft[] {
  return drafts.map((d) => {
    const lr = Number(d.lr);
    return { ...d, lr: Number.isFinite(lr) ? formatLr(lr / 2) : d.lr };
  });
}

function stageLabel(stage: Stage, index: number): string {
  return `stage ${index + 1} (${stage.freeze?.length ? `${stage.freeze.join(', ')} frozen` : 'all layers train'})`;
}

/** Where each stage starts and ends, in steps. */
export function stageSpans(run: Pick<RunInfo, 'stages' | 'stepsPerEpoch'>): { from: number; to: number; label: string }[] {
  let at = 0;
  return run.stages.map((s, i) => {
    const from = at;
    at += s.epochs * run.stepsPerEpoch;
    return { from, to: at, label: stageLabel(s, i) };
  });
}

/** The chart's columns: one x per step, validation values on the steps that ended an epoch. */
export function chartColumns(points: readonly TrainPoint[]): { steps: number[]; train: (number | null)[]; valLoss: (number | null)[]; psnr: (number | null)[] } {
  const steps: number[] = [];
  const train: (number | null)[] = [];
  const valLoss: (number | null)[] = [];
  const psnr: (number | null)[] = [];
  // A log axis has no place for zero, NaN or infinity.
  const positive = (v: number) => (Number.isFinite(v) && v > 0 ? v : null);
  for (const p of points) {
    const last = steps.length - 1;
    if (p.validation && steps[last] === p.step) {
      valLoss[last] = positive(p.validation.loss);
      psnr[last] = Number.isFinite(p.validation.psnr) ? p.validation.psnr : null;
      continue;
    }
    if (last >= 0 && p.step <= steps[last]) continue;
    steps.push(p.step);
    train.push(positive(p.loss));
    valLoss.push(p.validation ? positive(p.validation.loss) : null);
    psnr.push(p.validation && Number.isFinite(p.validation.psnr) ? p.validation.psnr : null);
  }
  return { steps, train, valLoss, psnr };
}

/** Images per second over the run's last steps (the first steps of a job warm up), or undefined. */
export function measuredRate(points: readonly TrainPoint[]): number | undefined {
  const rates = points.filter((p) => !p.validation && p.imgPerSec > 0).slice(-20).map((p) => p.imgPerSec).sort((a, b) => a - b);
  return rates.length ? rates[Math.floor(rates.length / 2)] : undefined;
}

/** The backend report among a job's log lines ("backend: …"), or its first line. */
export function backendLine(log: readonly string[]): string | undefined {
  return log.find((l) => l.startsWith('backend')) ?? log[0];
}
