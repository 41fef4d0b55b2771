import type { Handler } from '../context.ts';

export const datasetThumbnails: Handler<'datasetThumbnails'> = async (ctx, { id, offset, limit }) => ctx.datasets.thumbnails(id, offset, limit);
