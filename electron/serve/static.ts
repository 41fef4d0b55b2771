// The built renderer (`out/renderer/`): files only, no listings, nothing outside the folder.
import { createReadStream, existsSync, realpathSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { extname, join, resolve } from 'node:path';
import { isInside } from '../services/path-guard.ts';
import { sendError } from './respond.ts';

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.map': 'application/json', '.svg': 'image/svg+xml',
  '.png': 'image/png', '.jpg': 'image/jpeg', '.webp': 'image/webp', '.ico': 'image/x-icon', '.woff2': 'font/woff2',
  '.woff': 'font/woff', '.wasm': 'application/wasm', '.txt': 'text/plain; charset=utf-8',
};

export async function serveStatic(rendererDir: string, pathname: string, res: ServerResponse): Promise<void> {
  if (pathname === '/' && !existsSync(join(rendererDir, 'index.html'))) {
    res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(`The page is not built: run \`npm run build:renderer\` (it writes ${rendererDir}).\n`);
    return;
  }
  let rel: string;
  try {
    rel = decodeURIComponent(pathname === '/' ? '/index.html' : pathname);
  } catch {
    return sendError(res, 400, 'invalid-argument', 'the path is not valid percent-encoding');
  }
  const notFound = () => sendError(res, 404, 'not-found', 'there is no such file');
  if (rel.includes('\0')) return notFound();
  // Resolved through symlinks on both sides, so neither `..` (after decoding) nor a link leads out.
  let real: string;
  try {
    real = realpathSync.native(resolve(rendererDir, `.${rel}`));
  } catch {
    return notFound();
  }
  if (!isInside(real, realpathSync.native(rendererDir))) return notFound();
  const s = await stat(real).catch(() => undefined);
  if (!s?.isFile()) return notFound();
  res.writeHead(200, {
    'Content-Type': types[extname(real).toLowerCase()] ?? 'application/octet-stream',
    'Content-Length': s.size,
    'Cache-Control': 'no-cache',
  });
  createReadStream(real).on('error', () => res.destroy()).pipe(res);
}
