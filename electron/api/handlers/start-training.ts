import type { Handler } from '../context.ts';

export const startTraining: Handler<'startTraining'> = async (ctx, args) => ctx.runs.start(args);
