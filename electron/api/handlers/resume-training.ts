import type { Handler } from '../context.ts';

export const resumeTraining: Handler<'resumeTraining'> = async (ctx, { runId }) => ctx.runs.resume(runId);
