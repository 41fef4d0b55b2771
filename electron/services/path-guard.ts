import { realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { EngineError } from '../engine/errors.ts';

export type PathAccess = 'read' | 'write';

/**
 * The only paths the renderer may touch: folders (with everything inside) and single files the
 * user chose, plus the app's own private folders. Every path is resolved through symlinks before
 * it is compared, so a link inside a chosen folder cannot lead out of it.
 */
export class PathGuard {
  private readonly folders = new Map<string, PathAccess[]>();
  private readonly files = new Map<string, PathAccess[]>();

  /** A folder and everything below it. */
  allowFolder(dir: string, access: PathAccess[] = ['read', 'write']): string {
    const real = realPath(dir);
    this.folders.set(real, union(this.folders.get(real), access));
    return real;
  }

  /** One file (a picked photo or a save target that may not exist yet). */
  allowFile(file: string, access: PathAccess[]): string {
    const real = realPath(file);
    this.files.set(real, union(this.files.get(real), access));
    return real;
  }

  roots(): string[] {
    return [...this.folders.keys()];
  }

  /** The real path of `p` if `access` is allowed there; otherwise a 'forbidden-path' error naming it. */
  check(p: string, access: PathAccess): string {
    if (!isAbsolute(p)) throw new EngineError('forbidden-path', 'paths must be absolute', p);
    const real = realPath(p);
    if (this.files.get(real)?.includes(access)) return real;
    for (const [dir, allowed] of this.folders) {
      if (allowed.includes(access) && isInside(real, dir)) return real;
    }
    throw new EngineError('forbidden-path', `${access === 'read' ? 'reading' : 'writing'} outside the folders you chose is not allowed`, p);
  }

  allows(p: string, access: PathAccess): boolean {
    try {
      this.check(p, access);
      return true;
    } catch {
      return false;
    }
  }
}

function union(a: PathAccess[] | undefined, b: PathAccess[]): PathAccess[] {
  return [...new Set([...(a ?? []), ...b])];
}

export function isInside(child: string, dir: string): boolean {
  const rel = relative(dir, child);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/** realpath of the longest existing prefix, with the missing rest appended (outputs may not exist yet). */
export function realPath(p: string): string {
  const abs = resolve(p);
  try {
    return realpathSync.native(abs);
  } catch {
    const parent = dirname(abs);
    return parent === abs ? abs : join(realPath(parent), basename(abs));
  }
}
