import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCheckpoint, writeCheckpoint, freshCheckpoint } from '../trainer/fit/checkpoint.ts';

test('a checkpoint write removes the temp file a killed writer left, and keeps a live writer\'s', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'atomic-write-'));
  const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
  try {
    // A pid that was just in use and is gone, as a killed training's is on the next start.
    const deadPid = spawnSync(process.execPath, ['-e', '']).pid!;
    const path = join(dir, 'checkpoint.ckpt');
    await writeFile(join(dir, `.checkpoint.ckpt.${deadPid}.tmp`), Buffer.alloc(4096));
    await writeFile(join(dir, `.checkpoint.ckpt.${live.pid}.tmp`), 'being written');
    const c = freshCheckpoint({ kind: 'unet', options: { task: 'decrappify', scale: 1, widths: [8, 16] } }, 1);
    writeCheckpoint(path, c);
    assert.deepEqual((await readdir(dir)).sort(), [`.checkpoint.ckpt.${live.pid}.tmp`, 'checkpoint.ckpt']);
    assert.deepEqual(readCheckpoint(path).weights, c.weights);
  } finally {
    live.kill();
    await rm(dir, { recursive: true, force: true });
  }
});
