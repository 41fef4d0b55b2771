// The `enhance-file:` protocol's answers, without Electron, so plain-Node tests can exercise
// them: parse the URL, let the path guard decide, and turn formats Chromium cannot show (TIFF,
// HEIC) into PNG, as browser mode's GET /files does (electron/serve/files.ts).
import { readFile, stat } from 'node:fs/promises';
import sharp from 'sharp';
import { fileProtocol } from '../../common/bridge.ts';
import type { PathGuard } from '../services/path-guard.ts';

export interface FileAnswer {
  status: 200 | 400 | 403 | 404 | 415;
  body: Uint8Array<ArrayBuffer> | string;
  contentType: string;
}

const text = (status: FileAnswer['status'], message: string): FileAnswer => ({ status, body: message, contentType: 'text/plain; charset=utf-8' });

/** The path of an `enhance-file://file/?path=<encoded>` URL, or null for anything else. */
export function pathOfFileUrl(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.protocol !== `${fileProtocol}:` || parsed.hostname !== 'file') return null;
  const path = parsed.searchParams.get('path');
  return path && !path.includes('\0') ? path : null;
}

const shownAsIs: Record<string, string> = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', gif: 'image/gif' };

export async function answerFileRequest(guard: PathGuard, url: string): Promise<FileAnswer> {
  const path = pathOfFileUrl(url);
  if (path === null) return text(400, `not a ${fileProtocol}://file/?path=… URL`);
  let real: string;
  try {
    real = guard.check(path, 'read');
  } catch (e) {
    return text(403, `${path}: ${(e as Error).message}`);
  }
  const isFile = await stat(real).then((st) => st.isFile(), () => false);
  if (!isFile) return text(404, `${path}: there is no file at that path`);
  // sharp reads only the header here; AVIF is HEIF with AV1 inside, other HEIF Chromium cannot show.
  const meta = await sharp(real).metadata().catch(() => undefined);
  if (!meta?.format) return text(415, `${path}: the file is not an image Enhance can show`);
  const type = meta.format === 'heif' && meta.compression === 'av1' ? 'image/avif' : shownAsIs[meta.format];
  try {
    if (type) return { status: 200, body: await readFile(real), contentType: type };
    // TIFF and the like: PNG carries no EXIF orientation, so rotate() applies it to the pixels.
    return { status: 200, body: await sharp(real).rotate().png({ compressionLevel: 1 }).toBuffer(), contentType: 'image/png' };
  } catch {
    return text(415, `${path}: the image could not be read for display`);
  }
}
