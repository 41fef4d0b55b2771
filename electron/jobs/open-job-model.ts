import { openModel } from '../engine/model-catalog.ts';
import type { EngineModel } from '../engine/model-session.ts';
import type { BatchJobOptions, EnhancePhotoJobOptions, JobIo } from './job-types.ts';

/** The job's model: its file (user library, --model) or the installed default, ×2 unless a scale or file says otherwise. */
export function openJobModel(o: BatchJobOptions | EnhancePhotoJobOptions, io: JobIo): Promise<EngineModel> {
  return openModel(
    { task: o.task, scale: o.task === 'upscale' ? (o.scale ?? (o.modelPath ? undefined : 2)) : undefined, modelPath: o.modelPath, modelsDir: o.modelsDir, descriptor: o.descriptor },
    { threads: o.threads, providers: o.providers, onNotice: (message) => io.emit({ type: 'log', message }) },
  );
}
