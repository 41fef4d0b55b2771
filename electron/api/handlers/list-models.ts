import type { Handler } from '../context.ts';

export const listModels: Handler<'listModels'> = async (ctx) => ctx.models.list();
