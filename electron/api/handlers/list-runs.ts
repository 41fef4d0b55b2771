import type { Handler } from '../context.ts';

export const listRuns: Handler<'listRuns'> = async (ctx) => ctx.runs.list();
