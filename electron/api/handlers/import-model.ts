import type { Handler } from '../context.ts';

export const importModel: Handler<'importModel'> = async (ctx, { path, name }) => ctx.models.importFile(ctx.guard.check(path, 'read'), name);
