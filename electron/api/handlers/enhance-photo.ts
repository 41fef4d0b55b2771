import { basename } from 'node:path';
import type { Handler } from '../context.ts';

export const enhancePhoto: Handler<'enhancePhoto'> = async (ctx, args) => {
  const input = ctx.guard.check(args.input, 'read');
  const model = await ctx.models.resolve(args.modelId, args.task, args.scale);
  const jobId = ctx.jobs.start('enhance-photo', {
    input, task: args.task, scale: args.scale, tileSizePx: args.tileSizePx, selfEnsemble: args.selfEnsemble, resultsDir: ctx.resultsDir,
    ...model, providers: ctx.providers, threads: ctx.threads,
  }, `${args.task}${args.task === 'upscale' ? ` ×${args.scale ?? 2}` : ''} ${basename(input)}`);
  return { jobId };
};
