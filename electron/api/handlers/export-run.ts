import type { Handler } from '../context.ts';

export const exportRun: Handler<'exportRun'> = async (ctx, { runId, name }) => ctx.runs.export(runId, name);
