import type { Handler } from '../context.ts';

export const deleteRun: Handler<'deleteRun'> = async (ctx, { runId }) => {
  ctx.runs.remove(runId);
  return { deleted: true };
};
