import type { Handler } from '../context.ts';

export const deleteModel: Handler<'deleteModel'> = async (ctx, { id }) => ({ deleted: await ctx.models.remove(id) });
