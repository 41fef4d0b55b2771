import { mkdir } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { EngineError } from '../../engine/errors.ts';
import { isImagePath } from '../../engine/batch.ts';
import { writeFileAtomic } from '../../../trainer/atomic-write.ts';
import type { Handler } from '../context.ts';

export const uploadPhoto: Handler<'uploadPhoto'> = async (ctx, { name, base64 }) => {
  if (!ctx.uploadsDir) throw new EngineError('not-available', 'uploads exist only in browser mode');
  if (!isImagePath(name)) throw new EngineError('not-an-image', `${extname(name) || 'a file without extension'} is not a photo format Enhance reads`, name);
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.length === 0) throw new EngineError('empty-file', 'the upload is empty', name);
  // Each upload in its own folder keeps the photo's own name (outputs are named after it) without clashes.
  const dir = join(ctx.uploadsDir, randomUUID().slice(0, 8));
  await mkdir(dir, { recursive: true });
  const path = join(dir, name);
  writeFileAtomic(path, [bytes]);
  return { path };
};
