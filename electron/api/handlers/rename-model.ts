import type { Handler } from '../context.ts';

export const renameModel: Handler<'renameModel'> = async (ctx, { id, name }) => ctx.models.rename(id, name);
