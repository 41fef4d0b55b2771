// `GET /files?path=…`: a chosen image's bytes for <img>, the browser-mode twin of Electron's
// enhance-file: protocol. The path guard decides (symlinks resolved); formats browsers cannot
// show are converted to PNG on the fly.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import sharp from 'sharp';
import { toEnhanceError } from '../jobs/to-enhance-error.ts';
import type { ApiContext } from '../api/context.ts';
import { sendError } from './respond.ts';

const shownAsIs: Record<string, string> = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', gif: 'image/gif' };

export async function serveFile(ctx: ApiContext, path: string | null, res: ServerResponse): Promise<void> {
  if (!path) return sendError(res, 400, 'invalid-argument', 'give the file as ?path=<absolute path>');
  let real: string;
  try {
    real = ctx.guard.check(path, 'read');
  } catch (e) {
    return sendError(res, 403, 'forbidden-path', toEnhanceError(e).message, path);
  }
  const s = await stat(real).catch(() => undefined);
  if (!s?.isFile()) return sendError(res, 404, 'not-found', 'there is no file at that path', path);
  // sharp reads only the header here; AVIF is HEIF with AV1 inside, other HEIF browsers mostly cannot show.
  const meta = await sharp(real).metadata().catch(() => undefined);
  if (!meta?.format) return sendError(res, 415, 'not-an-image', 'the file is not an image Enhance can show', path);
  const type = meta.format === 'heif' && meta.compression === 'av1' ? 'image/avif' : shownAsIs[meta.format];
  res.setHeader('Cache-Control', 'no-store');
  if (type) {
    res.writeHead(200, { 'Content-Type': type, 'Content-Length': s.size });
    createReadStream(real).on('error', () => res.destroy()).pipe(res);
    return;
  }
  let png: Buffer;
  try {
    // rotate(): PNG carries no EXIF orientation, so it is applied to the pixels.
    png = await sharp(real).rotate().png({ compressionLevel: 1 }).toBuffer();
  } catch (e) {
    return sendError(res, 415, 'unsupported', `the image could not be converted for display: ${toEnhanceError(e).message}`, path);
  }
  res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Length': png.length });
  res.end(png);
}
