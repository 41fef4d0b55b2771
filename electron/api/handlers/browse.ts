import { readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { BrowseEntry } from '../../../common/api.ts';
import { classifyError } from '../../engine/errors.ts';
import { isImagePath } from '../../engine/batch.ts';
import type { Handler } from '../context.ts';

export const browse: Handler<'browse'> = async (ctx, { dir }) => {
  if (dir === undefined) {
    const entries = ctx.guard.roots().filter((r) => r !== ctx.resultsDir).map((path): BrowseEntry => ({ name: path, path, kind: 'folder' }));
    return { dir: null, parent: null, entries };
  }
  const real = ctx.guard.check(dir, 'read');
  let names;
  try {
    names = await readdir(real, { withFileTypes: true });
  } catch (e) {
    throw classifyError(e, dir, 'read');
  }
  const entries: BrowseEntry[] = [];
  for (const d of names) {
    if (d.name.startsWith('.')) continue;
    const path = join(real, d.name);
    // Links are listed only where they resolve inside the allowed folders.
    if (!ctx.guard.allows(path, 'read')) continue;
    const s = await stat(path).catch(() => undefined);
    if (!s) continue;
    entries.push(s.isDirectory() ? { name: d.name, path, kind: 'folder' } : { name: d.name, path, kind: isImagePath(path) ? 'image' : 'file', bytes: s.size });
  }
  entries.sort((a, b) => Number(b.kind === 'folder') - Number(a.kind === 'folder') || a.name.localeCompare(b.name));
  const up = dirname(real);
  return { dir: real, parent: up !== real && ctx.guard.allows(up, 'read') ? up : null, entries };
};
