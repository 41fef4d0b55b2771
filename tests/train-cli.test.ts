// `enhance train` as a command (issue 10: items 9, 10, 15): options validated before any work,
// a real run from a folder of photos with a frozen first stage on 2 workers, resume after a kill,
// and Ctrl-C with --workers 0.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { loadModel } from '../electron/engine/model-session.ts';

const cli = ['--import', 'tsx', 'cli/enhance.ts', 'train'];
const root = mkdtempSync(join(tmpdir(), 'enhance-train-cli-'));
const photos = join(root, 'photos');

async function makePhotos(dir: string, n: number): Promise<void> {
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < n; i++) {
    const data = Buffer.alloc(64 * 48 * 3);
    for (let p = 0; p < data.length; p++) data[p] = (p * (i + 3) + (p >> 7) * 11) % 256;
    await sharp(data, { raw: { width: 64, height: 48, channels: 3 } }).png().toFile(join(dir, `p${i}.png`));
  }
}

const tiny = (out: string, extra: string[] = []) =>
  ['--task', 'upscale', '--scale', '2', '--data', photos, '--out', out, '--widths', '4,8', '--batch', '2', '--crop', '32', ...extra];

test('bad options and bad data: one clear line, exit 2, nothing written', async () => {
  await makePhotos(photos, 6);
  const empty = join(root, 'empty');
  mkdirSync(empty);
  const corrupt = join(root, 'corrupt');
  mkdirSync(corrupt);
  writeFileSync(join(corrupt, 'a.jpg'), 'not a photo');
  writeFileSync(join(corrupt, 'b.png'), Buffer.alloc(0));
  const cases: [string[], RegExp][] = [
    [['--batch', 'abc'], /--batch must be a number/], [['--batch', '0'], /batch size must be a whole number/],
    [['--widths', 'abc'], /--widths must be a number/], [['--scale', '3'], /scale must be 2 or 4/],
    [['--stages', 'garbage'], /cannot read stage 'garbage'/], [['--crop', '30'], /crop must be a multiple of 4 px/],
    [['--workers=-1'], /workers must be a whole number/], [['--backend', 'nope'], /backend must be one of/],
    [['--bogus'], /Unknown option '--bogus'/], [['--data', join(photos, 'p0.png')], /is a file/],
    [['--data', empty], /0 usable photos/], [['--data', corrupt], /0 usable photos/],
  ];
  for (const [extra, message] of cases) {
    const out = join(root, `bad-${cases.findIndex((c) => c[0] === extra)}`);
    const r = spawnSync(process.execPath, [...cli, ...tiny(out), ...extra], { encoding: 'utf8' });
    assert.equal(r.status, 2, `${extra.join(' ')}: exit ${r.status}\n${r.stderr}`);
    assert.match(r.stderr, message, extra.join(' '));
    assert.doesNotMatch(r.stderr, /\n\s+at /, `${extra.join(' ')}: no stack trace`);
    assert.ok(!existsSync(join(out, 'model.onnx')), `${extra.join(' ')}: no model written`);
  }
});

test('a run from a photo folder: frozen first stage on 2 workers, killed, rerun resumes and writes a model the engine loads', async () => {
  const out = join(root, 'run');
  const args = [...cli, ...tiny(out, ['--stages', '1:frozen,40', '--workers', '2'])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  // Kill hard once the first epoch's checkpoint exists.
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      if (existsSync(join(out, 'checkpoint.ckpt'))) {
        clearInterval(timer);
        child.kill('SIGKILL');
        resolve();
      }
    }, 50);
  });
  await new Promise((r) => child.once('exit', r));
  assert.match(stderr, /epoch 1\/41 \(encoder frozen\)/);
  assert.ok(!existsSync(join(out, 'model.onnx')));
  const again = spawnSync(process.execPath, [...cli, ...tiny(out, ['--stages', '1:frozen,2', '--workers', '2'])], { encoding: 'utf8' });
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /resumed from the checkpoint after epoch \d/);
  assert.match(again.stderr, /store: 6 images \(0 new, 6 already stored/);
  const model = await loadModel(join(out, 'model.onnx'), { providers: 'cpu', onNotice: () => {} });
  assert.equal(model.descriptor.scale, 2);
  await model.release();
  assert.deepEqual(readdirSync(out).filter((f) => f.endsWith('.tmp')), []);
});

test('Ctrl-C with --workers 0 stops within a batch with exit 130 and writes no model', async () => {
  const out = join(root, 'ctrl-c');
  const child = spawn(process.execPath, [...cli, ...tiny(out, ['--stages', '400', '--workers', '0'])], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
    if (/epoch 1\/400/.test(stderr) && !child.killed) child.kill('SIGINT');
  });
  const code = await new Promise((r) => child.once('exit', r));
  assert.equal(code, 130, stderr);
  assert.match(stderr, /stopping after this batch/);
  assert.ok(!existsSync(join(out, 'model.onnx')));
});
