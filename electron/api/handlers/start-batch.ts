import { basename } from 'node:path';
import type { Handler } from '../context.ts';

export const startBatch: Handler<'startBatch'> = async (ctx, args) => {
  const input = ctx.guard.check(args.input, 'read');
  const output = ctx.guard.check(args.output, 'write');
  const model = await ctx.models.resolve(args.modelId, args.task, args.scale);
  const jobId = ctx.jobs.start('batch', {
    input, output, task: args.task, scale: args.scale, format: args.format, quality: args.quality, recursive: args.recursive,
    tileSizePx: args.tileSizePx, selfEnsemble: args.selfEnsemble, ...model, providers: ctx.providers, threads: ctx.threads,
  }, `${args.task} ${basename(input)} → ${basename(output)}`);
  return { jobId };
};
