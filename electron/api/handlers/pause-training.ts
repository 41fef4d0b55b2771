import type { Handler } from '../context.ts';

export const pauseTraining: Handler<'pauseTraining'> = async (ctx, { jobId }) => ({ pausing: ctx.runs.pause(jobId) });
