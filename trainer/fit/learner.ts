import type { Stage } from '../../common/model-manifest.ts';
import type { ModelSpec } from '../models/build-model.ts';
import { paramGroup } from '../models/model.ts';
import { AdamW, type AdamWOptions } from './adamw.ts';
import type { Batch, DataSource } from './batch.ts';
import type { Checkpoint, CheckpointState, EpochRecord } from './checkpoint.ts';
import type { GradEngine } from './grad-engine.ts';
import type { ParamLayout } from './param-layout.ts';

export type { Stage };

/** Early exits, as in miniai: a callback throws one, the learner unwinds to the matching level. */
export class CancelFitException extends Error {}
export class CancelEpochException extends Error {}
export class CancelBatchException extends Error {}
export class NonFiniteLossException extends CancelFitException {}
/** Stops the fit like a cancel, but first runs `afterPause` so a checkpoint can keep the half-done epoch. */
export class PauseFitException extends CancelFitException {}

/** How far the epoch being trained has got: what a pause checkpoints and a resume continues from. */
export interface PartialEpoch {
  /** Batches of the epoch already applied; a resume starts with batch `batchesDone`. */
  batchesDone: number;
  /** Batches an epoch had when paused: a resume with different data cannot continue mid-epoch. */
  batchesPerEpoch: number;
  lossSum: number;
  images: number;
  seconds: number;
}

/** A checkpoint's header as the learner writes it: mid-epoch when it was paused. */
export type LearnerCheckpointState = CheckpointState & { partialEpoch?: PartialEpoch };

export interface Callback {
  /** Lower runs first. */
  order?: number;
  beforeFit?(l: Learner): void | Promise<void>;
  beforeEpoch?(l: Learner): void | Promise<void>;
  beforeBatch?(l: Learner): void | Promise<void>;
  afterBatch?(l: Learner): void | Promise<void>;
  afterEpoch?(l: Learner): void | Promise<void>;
  afterFit?(l: Learner): void | Promise<void>;
  /** After a pause (stopped before a batch, `partialEpoch` set), before the fit returns. */
  afterPause?(l: Learner): void | Promise<void>;
  /** Always runs last, however the fit ends (finished, cancelled, paused, failed): release what the callback holds. */
  cleanup?(l: Learner): void | Promise<void>;
}

export interface FitResult {
  completed: boolean;
  /** Why it stopped early: 'cancelled', 'paused' or the non-finite-loss message. */
  stoppedBecause?: string;
  /** Stopped by a PauseFitException: the checkpoint (if any) holds the half-done epoch. */
  paused?: boolean;
  history: EpochRecord[];
}

export interface LearnerOptions {
  spec: ModelSpec;
  layout: ParamLayout;
  /** The model's weights; a SharedArrayBuffer-backed vector when a worker engine reads it. */
  weights: Float32Array;
  engine: GradEngine;
  data: DataSource;
  stages: Stage[];
  callbacks?: Callback[];
  seed?: number;
  adamw?: AdamWOptions;
}

export class Learner {
  readonly opt: AdamW;
  readonly grads: Float32Array;
  readonly callbacks: Callback[];
  readonly epochsTotal: number;
  history: EpochRecord[] = [];
  epochsDone = 0;
  /** Live state for callbacks. */
  epoch = 0;
  stageIndex = 0;
  batchIndex = 0;
  batch?: Batch;
  loss = NaN;
  lr = 0;
  beta1 = 0.9;
  trainable: number[] = [];
  /** The epoch in progress (undefined between epochs); restored from a paused checkpoint. */
  partialEpoch?: PartialEpoch;
  private changed: number[];

  constructor(readonly o: LearnerOptions) {
    this.opt = new AdamW(o.layout, o.adamw);
    this.grads = new Float32Array(o.layout.total);
    this.callbacks = [...(o.callbacks ?? [])].sort((a, b) => (a.order ?? 0) - (b.order ?? 0));
    this.epochsTotal = o.stages.reduce((a, s) => a + s.epochs, 0);
    this.changed = o.layout.names.map((_, i) => i);
  }

  get stage(): Stage {
    return this.o.stages[this.stageIndex];
  }

  /** How far through the current stage the current batch is, 0–1 (drives the LR schedule). */
  get stageFraction(): number {
    const first = this.o.stages.slice(0, this.stageIndex).reduce((a, s) => a + s.epochs, 0);
    const perEpoch = this.o.data.batchesPerEpoch;
    return ((this.epoch - first) * perEpoch + this.batchIndex) / (this.stage.epochs * perEpoch);
  }

  restore(c: Checkpoint): void {
    const { layout } = this.o;
    if (JSON.stringify([c.state.names, c.state.shapes]) !== JSON.stringify([layout.names, layout.shapes])) {
      throw new Error('checkpoint belongs to a different architecture (parameter names or shapes differ)');
    }
    this.o.weights.set(c.weights);
    this.opt.m.set(c.m);
    this.opt.v.set(c.v);
    this.opt.steps.set(c.steps);
    this.epochsDone = c.state.epochsDone;
    this.history = c.state.history;
    this.partialEpoch = (c.state as LearnerCheckpointState).partialEpoch;
    this.changed = layout.names.map((_, i) => i);
  }

  private async run(hook: Exclude<keyof Callback, 'order' | 'cleanup'>): Promise<void> {
    for (const cb of this.callbacks) await cb[hook]?.(this);
  }

  private stageOf(epoch: number): number {
    let end = 0;
    for (const [i, s] of this.o.stages.entries()) if (epoch < (end += s.epochs)) return i;
    return this.o.stages.length - 1;
  }

  private async step(batch: Batch): Promise<void> {
    const loss = await this.o.engine.lossAndGrads(batch, this.trainable, this.changed, this.grads);
    this.loss = loss;
    if (!Number.isFinite(loss) || !this.gradsFinite()) {
      throw new NonFiniteLossException(
        `loss became ${Number.isFinite(loss) ? 'finite but a gradient is not' : loss} at epoch ${this.epoch + 1} batch ${this.batchIndex + 1}; ` +
          `weights were not updated and the last checkpoint (epoch ${this.epochsDone}) is kept`);
    }
    this.opt.step(this.o.weights, this.grads, this.trainable, this.lr, this.beta1);
    this.changed = this.trainable;
  }

  private gradsFinite(): boolean {
    const { layout } = this.o;
    for (const p of this.trainable) {
      for (let i = layout.offsets[p], end = i + layout.sizes[p]; i < end; i++) if (!Number.isFinite(this.grads[i])) return false;
    }
    return true;
  }

  private async validate(): Promise<number | undefined> {
    const val = await this.o.data.validation?.();
    if (!val?.length) return undefined;
    let sum = 0;
    let n = 0;
    for (const b of val) {
      sum += (await this.o.engine.loss(b, this.changed)) * b.xShape[0];
      this.changed = [];
      n += b.xShape[0];
    }
    return sum / n;
  }

  /** Runs the remaining stages; every callback's `cleanup` runs afterwards whatever happened. */
  async fit(): Promise<FitResult> {
    try {
      return await this.fitStages();
    } finally {
      for (const cb of this.callbacks) await cb.cleanup?.(this);
    }
  }

  private async fitStages(): Promise<FitResult> {
    const batches = this.o.data.batchesPerEpoch;
    if (this.partialEpoch && this.partialEpoch.batchesPerEpoch !== batches) {
      throw new Error(`the checkpoint was paused at batch ${this.partialEpoch.batchesDone} of ${this.partialEpoch.batchesPerEpoch}, ` +
        `but an epoch now has ${batches} batches (the data changed); it cannot continue mid-epoch`);
    }
    try {
      await this.run('beforeFit');
      for (let e = this.epochsDone; e < this.epochsTotal; e++) {
        this.epoch = e;
        this.stageIndex = this.stageOf(e);
        const frozen = this.stage.freeze ?? [];
        this.trainable = this.o.layout.names.flatMap((n, i) => (frozen.includes(paramGroup(n)) ? [] : [i]));
        // A resumed pause continues its epoch: same batches from the same index, sums carried over.
        const part: PartialEpoch = this.partialEpoch ?? { batchesDone: 0, batchesPerEpoch: batches, lossSum: 0, images: 0, seconds: 0 };
        this.partialEpoch = part;
        const started = performance.now();
        const secondsBefore = part.seconds;
        try {
          await this.run('beforeEpoch');
          // The next batch is prepared while this one trains (sharp works off the JS thread).
          const fetch = (b: number) => {
            const p = Promise.resolve(this.o.data.batch(e, b));
            p.catch(() => {});
            return p;
          };
          let next = fetch(part.batchesDone);
          for (let b = part.batchesDone; b < batches; b++) {
            this.batchIndex = b;
            this.batch = await next;
            if (b + 1 < batches) next = fetch(b + 1);
            try {
              await this.run('beforeBatch');
              await this.step(this.batch);
              part.images += this.batch.xShape[0];
              part.lossSum += this.loss * this.batch.xShape[0];
              // Counted before afterBatch: a pause thrown there must not apply this batch twice on resume.
              part.batchesDone = b + 1;
              await this.run('afterBatch');
            } catch (err) {
              if (!(err instanceof CancelBatchException)) throw err;
            }
            part.batchesDone = b + 1;
            part.seconds = secondsBefore + (performance.now() - started) / 1000;
          }
        } catch (err) {
          if (!(err instanceof CancelEpochException)) throw err;
        }
        const seconds = secondsBefore + (performance.now() - started) / 1000;
        this.partialEpoch = undefined;
        const valLoss = await this.validate();
        this.history.push({ epoch: e + 1, stage: this.stageIndex, trainLoss: part.lossSum / Math.max(part.images, 1), valLoss, seconds, imgPerSec: part.images / seconds });
        this.epochsDone = e + 1;
        await this.run('afterEpoch');
      }
      await this.run('afterFit');
      return { completed: true, history: this.history };
    } catch (err) {
      if (err instanceof PauseFitException) {
        await this.run('afterPause');
        return { completed: false, paused: true, stoppedBecause: err.message, history: this.history };
      }
      if (err instanceof CancelFitException) return { completed: false, stoppedBecause: err.message, history: this.history };
      throw err;
    }
  }
}
