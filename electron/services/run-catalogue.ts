import { randomUUID } from 'node:crypto';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ApiParsedArgs } from '../../common/api.ts';
import type { JobEvent, JobResults, ModelInfo, RunInfo, RunStatus, TrainingPlanCheck, TrainPoint } from '../../common/jobs.ts';
import type { Task } from '../../common/model-descriptor.ts';
import type { ModelManifest } from '../../common/model-manifest.ts';
import { writeFileAtomic } from '../../trainer/atomic-write.ts';
import { exportOnnx } from '../../trainer/export/onnx-export.ts';
import { readCheckpoint } from '../../trainer/fit/checkpoint.ts';
import type { LearnerCheckpointState } from '../../trainer/fit/learner.ts';
import { ParamLayout } from '../../trainer/fit/param-layout.ts';
import { buildModel } from '../../trainer/models/build-model.ts';
import { checkTraining, planTrainingData, storeEntries, type TrainModelOptions } from '../../trainer/train-plan.ts';
import { EngineError } from '../engine/errors.ts';
import type { JobRunner } from '../jobs/runner.ts';
import type { DatasetCatalogue } from './dataset-catalogue.ts';
import type { ModelLibrary } from './model-library.ts';
import type { PathGuard } from './path-guard.ts';

type PlanArgs = ApiParsedArgs<'validateTrainingPlan'>;

/** run.json: the plan and where the run stands. The telemetry is in points.jsonl beside it. */
interface RunRecord extends Omit<RunInfo, 'jobId' | 'resumable' | 'history'> {
  version: 1;
  /** Photos in the dataset when the run started: data order depends on it, so a resume checks it. */
  imageCount: number;
  encoderPath?: string;
}

const logLines = 50;

/** The .onnx of a shipped or user model, checked against the task; a foreign model fails later with a clear reason. */
export async function modelFile(models: ModelLibrary, modelId: string, task?: Task, scale?: 2 | 4): Promise<string> {
  const info = (await models.list()).find((m) => m.id === modelId);
  if (!info) throw new EngineError('unknown-id', `there is no model ${modelId}`);
  const d = info.descriptor;
  const ref = await models.resolve(modelId, task ?? d.task, task ? scale : d.task === 'upscale' ? (d.scale as 2 | 4) : undefined);
  if (ref.modelPath) return ref.modelPath;
  const manifest = JSON.parse(readFileSync(join(ref.modelsDir!, 'manifest.json'), 'utf8')) as ModelManifest;
  return join(ref.modelsDir!, manifest.models.find((m) => m.id === modelId)!.file);
}

/**
 * Fine-tuning runs, each in `<dataDir>/runs/<runId>/`: run.json (atomic), points.jsonl (the chart's
 * telemetry, appended), checkpoint.ckpt and samples/ (written by the job). Only this process writes
 * run.json and points.jsonl, from the jobs' events; a run whose process died shows as paused
 * (it has a checkpoint) or stopped, and resumes from its checkpoint.
 */
/** The classifier shipped for the perceptual loss (trained on Imagenette, see resources/pretrained). */
const shippedEncoder = 'encoder-imagenette-32-64-128-256.ckpt';

export class RunCatalogue {
  readonly dir: string;
  /** Training jobs running in this process, by run id; `control` is the pause word shared with the job. */
  private readonly live = new Map<string, { jobId: string; control: SharedArrayBuffer }>();

  constructor(dataDir: string, private readonly o: { jobs: JobRunner; datasets: DatasetCatalogue; models: ModelLibrary; guard: PathGuard; workers?: number }) {
    this.dir = join(dataDir, 'runs');
    mkdirSync(this.dir, { recursive: true });
    o.jobs.onEvent((e) => this.onJobEvent(e));
  }

  private runDir(runId: string): string {
    return join(this.dir, runId);
  }

  private read(runId: string): RunRecord {
    const path = join(this.runDir(runId), 'run.json');
    if (!existsSync(path)) throw new EngineError('unknown-id', `there is no training run ${runId}`);
    return JSON.parse(readFileSync(path, 'utf8')) as RunRecord;
  }

  private write(r: RunRecord): void {
    r.updatedAt = Date.now();
    writeFileAtomic(join(this.runDir(r.runId), 'run.json'), [Buffer.from(`${JSON.stringify(r, null, 1)}\n`)]);
  }

  private history(runId: string): TrainPoint[] {
    const path = join(this.runDir(runId), 'points.jsonl');
    if (!existsSync(path)) return [];
    // A kill mid-append leaves a torn last line: it is skipped.
    return readFileSync(path, 'utf8').split('\n').flatMap((line) => {
      try {
        return line ? [JSON.parse(line) as TrainPoint] : [];
      } catch {
        return [];
      }
    });
  }

  /** Every problem with a plan, as the Train view shows them while the user types. */
  async check(a: PlanArgs): Promise<TrainingPlanCheck & { options?: TrainModelOptions; datasetName?: string; imageCount?: number }> {
    const none = { stepsPerEpoch: 0, totalSteps: 0, trainImages: 0, validationImages: 0 };
    const dataset = this.o.datasets.list().find((d) => d.id === a.datasetId);
    if (!dataset) return { ok: false, errors: [`there is no dataset ${a.datasetId}`], ...none };
    const errors: string[] = [];
    if (dataset.status === 'importing') errors.push(`dataset '${dataset.name}' is still importing; wait for it to finish`);
    else if (dataset.status === 'incomplete') errors.push(`the import of dataset '${dataset.name}' did not finish; import its folder again to complete it`);
    const scale = a.task === 'upscale' ? (a.scale ?? 2) : undefined;
    let baseModel: string | undefined;
    if (a.baseModelId) {
      try {
        baseModel = await modelFile(this.o.models, a.baseModelId, a.task, scale);
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    let encoder: string | undefined;
    // Without a chosen classifier, the perceptual loss uses the one that ships beside the models.
    if (!a.encoderPath && a.loss === 'perceptual') encoder = join(this.o.models.shippedDir, '..', 'pretrained', shippedEncoder);
    if (a.encoderPath) {
      try {
        encoder = this.o.guard.check(a.encoderPath, 'read');
      } catch (e) {
        errors.push(`${a.encoderPath}: ${(e as Error).message}`);
      }
    }
    const storeDir = this.o.datasets.storeDir(dataset.id);
    const options: TrainModelOptions = {
      task: a.task, scale, store: storeDir, out: '', baseModel, encoder, stages: a.stages, loss: a.loss, lambda: a.lambda,
      batchSize: a.batchSize, cropPx: a.cropPx, seed: a.seed ?? 0,
    };
    const { problems, plan } = checkTraining(options);
    // The trainer names the base by its file; the user knows it by its id.
    errors.push(...problems.map((p) => (baseModel ? p.replaceAll(baseModel, `model ${a.baseModelId}`) : p)));
    if (!plan) return { ok: false, errors, ...none };
    const entries = storeEntries(storeDir);
    const data = planTrainingData(entries, options, plan.cropPx, `dataset '${dataset.name}'`);
    errors.push(...data.problems);
    return {
      ok: errors.length === 0, errors, stepsPerEpoch: data.stepsPerEpoch, totalSteps: data.totalSteps, trainImages: data.trainImages,
      validationImages: data.validationImages, options: { ...options, cropPx: plan.cropPx }, datasetName: dataset.name, imageCount: entries.length,
    };
  }

  async start(a: ApiParsedArgs<'startTraining'>): Promise<{ jobId: string; runId: string }> {
    const check = await this.check(a);
    if (!check.ok) throw new EngineError('usage', check.errors.join('; '));
    const o = check.options!;
    const runId = `run-${randomUUID().slice(0, 8)}`;
    mkdirSync(this.runDir(runId), { recursive: true });
    // The run keeps its own copy of the base: deleting or replacing the library model cannot break a resume.
    if (o.baseModel) copyFileSync(o.baseModel, join(this.runDir(runId), 'base.onnx'));
    const now = Date.now();
    const epochsTotal = a.stages.reduce((s, x) => s + x.epochs, 0);
    const r: RunRecord = {
      version: 1, runId, name: a.name ?? `${check.datasetName} ${new Date(now).toISOString().slice(0, 16).replace('T', ' ')}`,
      task: a.task, ...(o.scale ? { scale: o.scale } : {}), datasetId: a.datasetId, datasetName: check.datasetName!,
      ...(a.baseModelId ? { baseModelId: a.baseModelId } : {}), stages: a.stages, loss: a.loss, ...(a.lambda === undefined ? {} : { lambda: a.lambda }),
      ...(o.encoder ? { encoderPath: o.encoder } : {}), batchSize: a.batchSize, cropPx: o.cropPx!, seed: o.seed!, status: 'running',
      epochsDone: 0, epochsTotal, stepsDone: 0, stepsPerEpoch: check.stepsPerEpoch, stepsTotal: check.totalSteps, trainImages: check.trainImages,
      validationImages: check.validationImages, imageCount: check.imageCount!, log: [], exports: [], createdAt: now, updatedAt: now,
    };
    this.write(r);
    return { jobId: this.startJob(r), runId };
  }

  private startJob(r: RunRecord): string {
    const dir = this.runDir(r.runId);
    const control = new SharedArrayBuffer(4);
    const jobId = this.o.jobs.start('train', {
      runId: r.runId, runDir: dir, storeDir: this.o.datasets.storeDir(r.datasetId), task: r.task, scale: r.scale,
      baseModelPath: existsSync(join(dir, 'base.onnx')) ? join(dir, 'base.onnx') : undefined, stages: r.stages, loss: r.loss, lambda: r.lambda,
      encoderPath: r.encoderPath, batchSize: r.batchSize, cropPx: r.cropPx, seed: r.seed, workers: this.o.workers, control,
    }, `train ${r.name}`);
    this.live.set(r.runId, { jobId, control });
    return jobId;
  }

  /** Asks a training job to stop after its current batch and checkpoint there. */
  pause(jobId: string): boolean {
    const run = [...this.live.values()].find((l) => l.jobId === jobId);
    if (!run) {
      if (!this.o.jobs.has(jobId)) throw new EngineError('unknown-id', `there is no job ${jobId}`);
      return false;
    }
    Atomics.store(new Int32Array(run.control), 0, 1);
    return true;
  }

  isTrainingOn(datasetId: string): boolean {
    return [...this.live.keys()].some((runId) => this.read(runId).datasetId === datasetId);
  }

  /** Continues a run from its checkpoint (from the start if it never reached one) in a new job. */
  resume(runId: string): { jobId: string; runId: string } {
    const r = this.read(runId);
    if (this.live.has(runId)) throw new EngineError('usage', `run '${r.name}' is already training`);
    if (r.status === 'done') throw new EngineError('usage', `run '${r.name}' has finished; export it to use the model`);
    let count: number;
    try {
      if (this.o.datasets.get(r.datasetId).status !== 'ready') throw new Error();
      count = storeEntries(this.o.datasets.storeDir(r.datasetId)).length;
    } catch {
      throw new EngineError('usage', `run '${r.name}' trained on dataset '${r.datasetName}', which is gone or not fully imported; it cannot resume`);
    }
    if (count !== r.imageCount) {
      throw new EngineError('usage', `dataset '${r.datasetName}' changed since run '${r.name}' started (${r.imageCount} → ${count} photos); start a new run`);
    }
    // Points after the checkpoint (trained, then lost with the process) are trained again: drop them.
    const at = this.checkpointStep(r);
    const kept = this.history(runId).filter((p) => p.step <= at);
    writeFileAtomic(join(this.runDir(runId), 'points.jsonl'), [Buffer.from(kept.map((p) => `${JSON.stringify(p)}\n`).join(''))]);
    Object.assign(r, { status: 'running', lastError: undefined, stepsDone: at });
    this.write(r);
    return { jobId: this.startJob(r), runId };
  }

  /** Steps the checkpoint holds (0 without one). */
  private checkpointStep(r: RunRecord): number {
    const path = join(this.runDir(r.runId), 'checkpoint.ckpt');
    if (!existsSync(path)) return 0;
    const state = readCheckpoint(path).state as LearnerCheckpointState;
    return state.epochsDone * r.stepsPerEpoch + (state.partialEpoch?.batchesDone ?? 0);
  }

  list(): RunInfo[] {
    const runs = readdirSync(this.dir, { withFileTypes: true }).filter((d) => d.isDirectory() && existsSync(join(this.dir, d.name, 'run.json')));
    return runs.map((d) => this.info(this.read(d.name))).sort((a, b) => b.createdAt - a.createdAt);
  }

  private info(r: RunRecord): RunInfo {
    const { version: _version, imageCount: _imageCount, encoderPath: _encoderPath, ...plan } = r;
    const live = this.live.get(r.runId);
    const resumable = existsSync(join(this.runDir(r.runId), 'checkpoint.ckpt'));
    // 'running' with no job in this process: the app died mid-run; it resumes from its checkpoint.
    const status: RunStatus = r.status === 'running' && !live ? (resumable ? 'paused' : 'stopped') : r.status;
    const history = this.history(r.runId);
    for (const p of history) this.allowSamples(p);
    return { ...plan, status, ...(live ? { jobId: live.jobId } : {}), resumable, history, stepsDone: history.at(-1)?.step ?? r.stepsDone };
  }

  /** The checkpoint as an Enhance ONNX model in the user library, with how it was trained in its metadata. */
  async export(runId: string, name?: string): Promise<ModelInfo> {
    const r = this.read(runId);
    const dir = this.runDir(runId);
    const ckpt = join(dir, 'checkpoint.ckpt');
    if (!existsSync(ckpt)) throw new EngineError('usage', `run '${r.name}' has no checkpoint yet: export after its first epoch or a pause`);
    const c = readCheckpoint(ckpt);
    const state = c.state as LearnerCheckpointState;
    const steps = state.epochsDone * r.stepsPerEpoch + (state.partialEpoch?.batchesDone ?? 0);
    if (steps === 0) throw new EngineError('usage', `run '${r.name}' has not trained a step yet`);
    const def = buildModel(state.spec);
    const progress = state.partialEpoch ? `${state.epochsDone} epochs and ${state.partialEpoch.batchesDone}/${r.stepsPerEpoch} steps` : `${state.epochsDone} epochs`;
    const description = `${r.baseModelId ? `fine-tuned from ${r.baseModelId}` : 'trained from scratch'} on ${r.trainImages} photos of dataset ` +
      `'${r.datasetName}' for ${progress} of ${r.epochsTotal} (${r.loss} loss, batch ${r.batchSize}, ${r.cropPx} px crops)`;
    const bytes = exportOnnx(def, new ParamLayout(def.params).toMap(c.weights), {
      trainingData: `${r.trainImages} photos of dataset '${r.datasetName}'`,
      trainingStages: JSON.stringify(r.stages),
      trainingDescription: description,
      trainingSteps: String(steps),
      ...(r.baseModelId ? { fineTunedFrom: r.baseModelId } : {}),
    });
    const file = join(dir, 'export.onnx');
    writeFileAtomic(file, [bytes]);
    try {
      const model = await this.o.models.importFile(file, name ?? `${r.name} · epoch ${state.epochsDone}`, description);
      r.exports.push({ modelId: model.id, name: model.name, epochsDone: state.epochsDone, stepsDone: steps, at: Date.now() });
      this.write(r);
      return model;
    } finally {
      rmSync(file, { force: true });
    }
  }

  /** Removes the run's folder; models exported from it stay in the library. */
  remove(runId: string): void {
    const r = this.read(runId);
    if (this.live.has(runId)) throw new EngineError('usage', `run '${r.name}' is training: pause or cancel it first`);
    rmSync(this.runDir(runId), { recursive: true, force: true });
  }

  /** Sample PNGs become readable through the path guard as their paths are handed out. */
  private allowSamples(p: TrainPoint): void {
    for (const s of p.samples ?? []) for (const path of [s.input, s.output, s.target]) this.o.guard.allowFile(path, ['read']);
  }

  private onJobEvent(e: JobEvent): void {
    if (e.type !== 'train' && e.type !== 'log' && e.type !== 'finished') return;
    const runId = [...this.live].find(([, l]) => l.jobId === e.jobId)?.[0];
    if (runId === undefined) return;
    if (e.type === 'train') {
      this.allowSamples(e.point);
      appendFileSync(join(this.runDir(runId), 'points.jsonl'), `${JSON.stringify(e.point)}\n`);
      if (!e.point.validation && !e.point.samples) return;
      const r = this.read(runId);
      r.epochsDone = e.point.epoch;
      r.stepsDone = e.point.step;
      this.write(r);
      return;
    }
    const r = this.read(runId);
    if (e.type === 'log') {
      r.log = [...r.log, e.message].slice(-logLines);
    } else {
      this.live.delete(runId);
      const result = e.result as JobResults['train'] | undefined;
      r.status = result?.status ?? (e.status === 'cancelled' ? 'stopped' : 'failed');
      if (result?.epochsDone !== undefined) r.epochsDone = result.epochsDone;
      if (result?.stepsDone) r.stepsDone = result.stepsDone;
      r.lastError = result?.error ?? e.error?.message;
    }
    this.write(r);
  }
}
