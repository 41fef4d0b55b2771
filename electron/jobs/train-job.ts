import type { JobResults, RunStatus, TrainPoint } from '../../common/jobs.ts';
import { trainModel } from '../../trainer/train-model.ts';
import type { JobIo, TrainJobOptions } from './job-types.ts';

/** What the Train view shows after a non-finite loss, besides the trainer's own message. */
export const nonFiniteHint = 'Try a lower learning rate.';

/**
 * Fine-tunes on a dataset's store from the run's checkpoint if it has one, reporting every step as a
 * TrainPoint and every epoch with its validation metrics and sample crops. Cancel stops after the
 * batch (the last epoch checkpoint stays); a pause, asked through the shared control word, stops
 * after the batch and checkpoints there.
 */
export async function trainJob(o: TrainJobOptions, io: JobIo): Promise<JobResults['train']> {
  const control = new Int32Array(o.control);
  const pause = new AbortController();
  // The runner's protocol carries only cancel; the pause request arrives through shared memory.
  const poll = setInterval(() => {
    if (Atomics.load(control, 0) === 1) pause.abort();
  }, 50);
  const started = performance.now();
  let epochsDone = 0;
  let stepsDone = 0;
  try {
    const r = await trainModel({
      task: o.task, scale: o.scale, store: o.storeDir, out: o.runDir, baseModel: o.baseModelPath, stages: o.stages, loss: o.loss,
      lambda: o.lambda, encoder: o.encoderPath, batchSize: o.batchSize, cropPx: o.cropPx, seed: o.seed, workers: o.workers, samples: 3,
    }, (e) => {
      if (e.type === 'log') io.emit({ type: 'log', message: e.message });
      if (e.type !== 'fit') return;
      const f = e.event;
      let point: TrainPoint;
      if (f.kind === 'batch') {
        stepsDone = f.epoch * f.batches + f.batch + 1;
        point = { step: stepsDone, stepsTotal: f.epochs * f.batches, epoch: f.epoch + 1, stage: f.stage, loss: f.loss, lr: f.lr, imgPerSec: f.imgPerSec };
        const elapsedSeconds = (performance.now() - started) / 1000;
        io.emit({ type: 'progress', progress: {
          fraction: f.fraction, etaSeconds: Number.isFinite(f.etaSec) ? f.etaSec : null, elapsedSeconds,
          message: `epoch ${f.epoch + 1}/${f.epochs} · step ${f.batch + 1}/${f.batches}`,
        } });
      } else {
        const r = f.record;
        epochsDone = r.epoch;
        stepsDone = r.epoch * f.batches;
        point = { step: stepsDone, stepsTotal: f.epochs * f.batches, epoch: r.epoch, stage: r.stage, loss: r.trainLoss, lr: f.lr, imgPerSec: r.imgPerSec };
        const psnr = r.metrics?.psnrY ?? r.metrics?.psnrRgb;
        if (r.valLoss !== undefined && psnr !== undefined) {
          point.validation = { loss: r.valLoss, psnr, ...(r.metrics?.ssimY === undefined ? {} : { ssim: r.metrics.ssimY }) };
        }
        if (e.samples) point.samples = e.samples;
      }
      io.emit({ type: 'train', point });
    }, io.signal, pause.signal);
    epochsDone = r.run.history.length;
    const status: RunStatus = r.completed ? 'done' : r.paused ? 'paused' : io.signal.aborted ? 'stopped' : 'failed';
    return {
      runId: o.runId, epochsDone, stepsDone, status, cancelled: status === 'paused' || status === 'stopped',
      ...(status === 'failed' ? { error: `${r.stoppedBecause}. ${nonFiniteHint}` } : {}),
    };
  } finally {
    clearInterval(poll);
  }
}
