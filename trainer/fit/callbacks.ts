import { writeCheckpoint, type EpochRecord } from './checkpoint.ts';
import { type Callback, CancelFitException, type Learner, type LearnerCheckpointState, PauseFitException } from './learner.ts';
import { oneCycle } from './one-cycle.ts';

/** Sets lr and Adam's beta1 before each batch from the stage's one-cycle schedule. */
export function oneCycleSchedule(): Callback {
  return {
    order: -10,
    beforeBatch(l) {
      const { lr, beta1 } = oneCycle(l.stageFraction, l.stage.lr);
      l.lr = lr;
      l.beta1 = beta1;
    },
  };
}

/**
 * Writes a resumable checkpoint after every epoch and when paused (then with the batch index inside
 * the epoch), atomically: temp file + rename.
 */
export function checkpointEvery(path: string, config: Record<string, unknown> = {}): Callback {
  const write = (l: Learner) => {
    const { layout } = l.o;
    const state: LearnerCheckpointState = {
      spec: l.o.spec, names: layout.names, shapes: layout.shapes, epochsDone: l.epochsDone, seed: l.o.seed ?? 0, history: l.history, config,
      ...(l.partialEpoch ? { partialEpoch: l.partialEpoch } : {}),
    };
    writeCheckpoint(path, { state, weights: l.o.weights, m: l.opt.m, v: l.opt.v, steps: l.opt.steps });
  };
  return { order: 10, afterEpoch: write, afterPause: write };
}

export type FitEvent =
  | { kind: 'batch'; stage: number; epoch: number; epochs: number; batch: number; batches: number; loss: number; lr: number;
      imgPerSec: number; etaSec: number; fraction: number }
  | { kind: 'epoch'; record: EpochRecord; epochs: number; batches: number; lr: number; fraction: number };

/** Progress as typed events: a 0–1 fraction, loss, lr, images per second and an ETA. */
export function progress(onEvent: (e: FitEvent) => void): Callback {
  let epochStart = 0;
  let images = 0;
  let fitImages = 0;
  let fitSeconds = 0;
  return {
    order: 20,
    beforeEpoch() {
      epochStart = performance.now();
      images = 0;
    },
    afterBatch(l) {
      images += l.batch!.xShape[0];
      const seconds = (performance.now() - epochStart) / 1000;
      const imgPerSec = images / seconds;
      const batches = l.o.data.batchesPerEpoch;
      const done = l.epoch * batches + l.batchIndex + 1;
      const total = l.epochsTotal * batches;
      const rate = (fitImages + images) / (fitSeconds + seconds);
      const batchSize = l.batch!.xShape[0];
      onEvent({ kind: 'batch', stage: l.stageIndex, epoch: l.epoch, epochs: l.epochsTotal, batch: l.batchIndex, batches, loss: l.loss,
        lr: l.lr, imgPerSec, etaSec: ((total - done) * batchSize) / rate, fraction: done / total });
    },
    afterEpoch(l) {
      fitImages += images;
      fitSeconds += (performance.now() - epochStart) / 1000;
      onEvent({ kind: 'epoch', record: l.history[l.history.length - 1], epochs: l.epochsTotal, batches: l.o.data.batchesPerEpoch, lr: l.lr,
        fraction: l.epochsDone / l.epochsTotal });
    },
  };
}

/** Stops the fit when the signal aborts; the learner finishes the batch it is on. */
export function cancelOn(signal: AbortSignal): Callback {
  return {
    async beforeBatch() {
      // In-thread training (workers 0) chains only microtasks; without a turn of the event loop a
      // signal handler (Ctrl-C, the app's Cancel) would never run.
      await new Promise((r) => setImmediate(r));
      if (signal.aborted) throw new CancelFitException('cancelled');
    },
  };
}

/** Pauses the fit when the signal aborts: it stops before the next batch and `afterPause` checkpoints there. */
export function pauseOn(signal: AbortSignal): Callback {
  return {
    async beforeBatch() {
      await new Promise((r) => setImmediate(r));
      if (signal.aborted) throw new PauseFitException('paused');
    },
  };
}
