import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import type { EnhancePhotoResult } from '../../common/jobs.ts';
import { enhanceImage } from '../engine/enhance-image.ts';
import { etaSeconds } from './eta.ts';
import { openJobModel } from './open-job-model.ts';
import type { EnhancePhotoJobOptions, JobIo } from './job-types.ts';

/** One photo for the Enhance view: a lossless PNG in the private results folder, for the slider and for saving. */
export async function enhancePhotoJob(o: EnhancePhotoJobOptions, io: JobIo): Promise<EnhancePhotoResult> {
  const started = performance.now();
  const model = await openJobModel(o, io);
  try {
    await mkdir(o.resultsDir, { recursive: true });
    const result = join(o.resultsDir, `${basename(o.input, extname(o.input)).slice(0, 100)}-${randomUUID().slice(0, 8)}.png`);
    const r = await enhanceImage(model, o.input, result, {
      format: 'png', tileSizePx: o.tileSizePx, selfEnsemble: o.selfEnsemble, signal: io.signal,
      onProgress: (p) => {
        const elapsedSeconds = (performance.now() - started) / 1000;
        io.emit({ type: 'progress', progress: {
          fraction: p.fraction, etaSeconds: etaSeconds(p.fraction, elapsedSeconds), elapsedSeconds, message: `tile ${p.tilesDone}/${p.tilesTotal}`,
        } });
      },
    });
    return {
      input: o.input, result, inputWidthPx: r.inputWidthPx, inputHeightPx: r.inputHeightPx, outputWidthPx: r.outputWidthPx, outputHeightPx: r.outputHeightPx,
      modelId: o.modelId, provider: model.provider, seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await model.release();
  }
}
