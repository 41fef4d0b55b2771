// dispatch as every transport calls it: arguments outside the contract or paths outside the
// roots are refused with a code and a message naming the field or path, before anything runs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, realpath, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { ApiContext } from '../electron/api/context.ts';
import { createApiContext } from '../electron/api/create-context.ts';
import { dispatch } from '../electron/api/dispatch.ts';

let tmp: string;
let root: string;
let input: string;
let output: string;
let outsideDir: string;
let outsidePng: string;
let ctx: ApiContext;

async function writePng(path: string): Promise<void> {
  const px = Buffer.alloc(24 * 16 * 3);
  for (let i = 0; i < px.length; i++) px[i] = (i * 31) % 253;
  await sharp(px, { raw: { width: 24, height: 16, channels: 3 } }).png().toFile(path);
}

before(async () => {
  tmp = await realpath(await mkdtemp(join(tmpdir(), 'enhance-api-')));
  root = join(tmp, 'root');
  input = join(root, 'in');
  output = join(root, 'out');
  outsideDir = join(tmp, 'outside');
  outsidePng = join(tmp, 'outside.png');
  for (const d of [input, output, outsideDir]) await mkdir(d, { recursive: true });
  await writePng(join(input, 'photo.png'));
  await writePng(outsidePng);
  await symlink(outsidePng, join(root, 'link.png'));
  await symlink(outsideDir, join(root, 'escape'));
  ctx = createApiContext({ mode: 'browser', dataDir: join(tmp, 'data'), roots: [root], providers: 'cpu', threads: 1, jobMode: 'in-process' });
});

after(async () => {
  await ctx?.jobs.dispose();
  await rm(tmp, { recursive: true, force: true });
});

/** Nothing ran: no job started, no file in the output or outside folders, no model imported. */
async function assertNothingDone(): Promise<void> {
  assert.deepEqual(ctx.jobs.list(), []);
  assert.deepEqual(await readdir(output), []);
  assert.deepEqual(await readdir(outsideDir), []);
  assert.deepEqual(await readdir(join(tmp, 'data', 'models')), []);
}

async function assertRefused(method: unknown, args: unknown, code: string, mention: string): Promise<void> {
  const reply = await dispatch(ctx, method, args);
  assert.equal(reply.ok, false, `${method} ${JSON.stringify(args)} was accepted`);
  assert.equal(reply.error.code, code, `${method} ${JSON.stringify(args)}: ${reply.error.message}`);
  assert.ok(`${reply.error.message} ${reply.error.path ?? ''}`.includes(mention), `"${reply.error.message}" should name ${mention}`);
}

const batch = (extra: Record<string, unknown> = {}) => ({ input, output, task: 'upscale', format: 'png', recursive: false, ...extra });

test('reading outside the roots is forbidden, however the path is spelt', async () => {
  // Template strings, not join(): join would resolve the `..` before the guard sees it.
  const spellings = ['/etc/passwd', outsidePng, `${root}/../outside.png`, `${input}/../../outside.png`, join(root, 'link.png'), 'outside.png'];
  for (const p of spellings) {
    await assertRefused('imageInfo', { path: p }, 'forbidden-path', p);
    await assertRefused('enhancePhoto', { input: p, task: 'upscale' }, 'forbidden-path', p);
    await assertRefused('importModel', { path: p }, 'forbidden-path', p);
  }
  for (const d of [tmp, `${root}/..`, join(root, 'escape'), '/']) await assertRefused('browse', { dir: d }, 'forbidden-path', d);
  await assertNothingDone();
});

test('writing outside the roots is forbidden, and nothing is written', async () => {
  const targets = [outsideDir, join(outsideDir, 'new'), `${root}/../outside/new`, join(root, 'escape', 'new'), join(tmp, 'data', 'results'), join(tmp, 'data', 'uploads')];
  for (const out of targets) await assertRefused('startBatch', batch({ output: out }), 'forbidden-path', out);
  await assertRefused('startBatch', batch({ input: outsidePng }), 'forbidden-path', outsidePng);
  await assertNothingDone();
});

test('arguments outside the contract are refused with the field named', async () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['startBatch', batch({ scale: '2' }), 'scale'],
    ['startBatch', batch({ scale: 3 }), 'scale'],
    ['startBatch', batch({ recursive: 'yes' }), 'recursive'],
    ['startBatch', batch({ quality: 1e9 }), 'quality'],
    ['startBatch', batch({ quality: 50.5 }), 'quality'],
    ['startBatch', batch({ tileSizePx: 1e12 }), 'tileSizePx'],
    ['startBatch', batch({ selfEnsemble: 'yes' }), 'selfEnsemble'],
    ['startBatch', batch({ task: 'sharpen' }), 'task'],
    ['startBatch', batch({ format: 'bmp' }), 'format'],
    ['startBatch', batch({ output: undefined }), 'output'],
    ['startBatch', batch({ input: `${input}\0/x` }), 'input'],
    ['startBatch', batch({ deleteAfter: true }), 'deleteAfter'],
    ['enhancePhoto', { input: join(input, 'photo.png'), task: 'upscale', tileSizePx: 1e12 }, 'tileSizePx'],
    ['enhancePhoto', { input: join(input, 'photo.png') }, 'task'],
    ['enhancePhoto', { input: join(input, 'photo.png'), task: 'upscale', selfEnsemble: 1 }, 'selfEnsemble'],
    ['enhancePhoto', { input: join(input, 'photo.png'), task: 'upscale', modelId: '../../evil' }, 'modelId'],
    ['imageInfo', { path: 42 }, 'path'],
    ['uploadPhoto', { name: '../escape.png', base64: 'AAAA' }, 'name'],
    ['cancelJob', {}, 'jobId'],
  ];
  for (const [method, args, field] of cases) await assertRefused(method, args, 'invalid-argument', field);
  for (const args of [[], 'input', 7]) await assertRefused('startBatch', args, 'invalid-argument', 'startBatch');
  await assertNothingDone();
  assert.deepEqual(await readdir(join(tmp, 'data', 'uploads')), []);
});

test('a method outside the contract is unknown, even one every object has', async () => {
  for (const name of ['deleteEverything', 'constructor', 'toString', '__proto__', '']) {
    await assertRefused(name, {}, 'unknown-method', JSON.stringify(name));
  }
  await assertRefused(42, {}, 'unknown-method', '42');
  await assertNothingDone();
});

test('the same call with valid arguments does write, so the checks above could fail', { timeout: 120_000 }, async () => {
  const reply = await dispatch(ctx, 'startBatch', batch());
  assert.ok(reply.ok, JSON.stringify(reply));
  const info = await ctx.jobs.wait((reply.value as { jobId: string }).jobId);
  assert.equal(info.status, 'done', JSON.stringify(info.error));
  assert.deepEqual((await readdir(output)).filter((f) => !f.startsWith('.')), ['photo.png']);
});
