import { basename } from 'node:path';
import type { BatchResult } from '../../common/jobs.ts';
import { planBatch, runBatch } from '../engine/batch.ts';
import { defaultTileSizePx } from '../engine/enhance-image.ts';
import { tilePlanOptions } from '../engine/tiling.ts';
import type { BatchJobOptions, JobIo } from './job-types.ts';
import { etaSeconds } from './eta.ts';
import { openJobModel } from './open-job-model.ts';

/**
 * Enhances a folder (or one photo) into an output folder: the one code path behind `enhance
 * upscale|decrappify|colorize`, the Batch view and browser mode. Finished outputs are skipped, so a
 * rerun resumes; a cancel stops after the current tile and leaves no partial file.
 */
export async function batchJob(o: BatchJobOptions, io: JobIo): Promise<BatchResult> {
  const plan = await planBatch(o.input, o.output, { recursive: o.recursive, format: o.format });
  const model = await openJobModel(o, io);
  try {
    // Fails fast on a tile size the model cannot use, before any file is touched.
    tilePlanOptions(model.descriptor, o.tileSizePx ?? defaultTileSizePx(model.descriptor.scale));
    const started = performance.now();
    const summary = await runBatch(model, plan, {
      format: o.format, quality: o.quality, tileSizePx: o.tileSizePx, selfEnsemble: o.selfEnsemble, pixelLimit: o.pixelLimit, jobs: o.jobs, signal: io.signal,
      onEvent: (e) => {
        if (e.type === 'file-done') io.emit({ type: 'file', file: { input: e.item.inputPath, output: e.item.outputPath, status: 'done' } });
        else if (e.type === 'file-skipped') io.emit({ type: 'file', file: { input: e.item.inputPath, output: e.item.outputPath, status: 'skipped' } });
        else if (e.type === 'file-failed') io.emit({ type: 'file', file: { input: e.inputPath, status: 'failed', error: e.error } });
        else {
          const p = e.progress;
          const elapsedSeconds = (performance.now() - started) / 1000;
          io.emit({ type: 'progress', progress: {
            fraction: p.fraction, etaSeconds: etaSeconds(p.fraction, elapsedSeconds), elapsedSeconds,
            message: `${p.filesDone}/${p.filesTotal} photos${p.current.length ? ` · ${p.current.map((c) => basename(c)).join(', ')}` : ''}`,
            filesDone: p.filesDone, filesTotal: p.filesTotal, current: p.current,
          } });
        }
      },
    });
    return {
      total: summary.total, enhanced: summary.enhanced, skipped: summary.skipped, cancelled: summary.aborted,
      failed: summary.failed.map((f) => ({ input: f.inputPath, error: f.error })),
      inputMegapixels: summary.inputMegapixels, seconds: summary.seconds, provider: model.provider,
    };
  } finally {
    await model.release();
  }
}
