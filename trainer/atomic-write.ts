import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Writes `parts` to a temp file beside `path`, fsyncs and renames it over `path`: a crash or kill at
 * any moment leaves the old file or the new one, never half of one.
 */
export function writeFileAtomic(path: string, parts: readonly ArrayBufferView[]): void {
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
