import { closeSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Writes `parts` to a temp file beside `path`, fsyncs and renames it over `path`: a crash or kill at
 * any moment leaves the old file or the new one, never half of one. The temp files a killed writer
 * left for `path` are removed first.
 */
export function writeFileAtomic(path: string, parts: readonly ArrayBufferView[]): void {
  removeStaleTemps(path);
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    const fd = openSync(temp, 'w');
    try {
      for (const p of parts) {
        const bytes = new Uint8Array(p.buffer, p.byteOffset, p.byteLength);
        // writeSync may write less than asked; loop until the part is all on disk.
        for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done);
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (e) {
    rmSync(temp, { force: true });
    throw e;
  }
}

/** Removes the temp files (`.<name>.<pid>.tmp`) of `path` whose writer is gone, killed mid-write; a live writer's stay. */
function removeStaleTemps(path: string): void {
  const dir = dirname(path);
  const prefix = `.${basename(path)}.`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const pid = Number(name.slice(prefix.length, -'.tmp'.length));
    if (Number.isInteger(pid) && pid !== process.pid && isAlive(pid)) continue;
    rmSync(join(dir, name), { force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
