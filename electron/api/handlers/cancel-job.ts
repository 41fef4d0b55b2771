import { EngineError } from '../../engine/errors.ts';
import type { Handler } from '../context.ts';

export const cancelJob: Handler<'cancelJob'> = async (ctx, { jobId }) => {
  if (!ctx.jobs.has(jobId)) throw new EngineError('unknown-id', `there is no job ${jobId}`);
  return { cancelled: ctx.jobs.cancel(jobId) };
};
