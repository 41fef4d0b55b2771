// The e2e test runs against the real Vite build; it is rebuilt only when a source is newer.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const rendererOutDir = join(repoRoot, 'out', 'renderer');

function newestMtimeMs(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtimeMs(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Builds out/renderer/ when index.html is missing or older than renderer/ or common/ (the page imports both). */
export function ensureRendererBuilt(): void {
  const index = join(rendererOutDir, 'index.html');
  const sources = Math.max(newestMtimeMs(join(repoRoot, 'renderer')), newestMtimeMs(join(repoRoot, 'common')));
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  const vite = join(dirname(createRequire(import.meta.url).resolve('vite/package.json')), 'bin', 'vite.js');
  execFileSync(process.execPath, [vite, 'build', '--config', 'renderer/vite.config.ts', '--logLevel', 'error'], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'] });
}
