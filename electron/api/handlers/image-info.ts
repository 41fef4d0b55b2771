import { stat } from 'node:fs/promises';
import sharp from 'sharp';
import { classifyError } from '../../engine/errors.ts';
import type { Handler } from '../context.ts';

export const imageInfo: Handler<'imageInfo'> = async (ctx, { path }) => {
  const real = ctx.guard.check(path, 'read');
  try {
    const [meta, s] = await Promise.all([sharp(real).metadata(), stat(real)]);
    const rotated = (meta.orientation ?? 1) >= 5;
    return { path: real, widthPx: (rotated ? meta.height : meta.width) ?? 0, heightPx: (rotated ? meta.width : meta.height) ?? 0, format: meta.format ?? 'unknown', bytes: s.size };
  } catch (e) {
    throw classifyError(e, path, 'read');
  }
};
