import type { Handler } from '../context.ts';

export const listDatasets: Handler<'listDatasets'> = async (ctx) => ctx.datasets.list();
