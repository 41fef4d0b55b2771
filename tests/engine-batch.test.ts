import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { watch } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { type BatchEvent, journalName, planBatch, runBatch } from '../electron/engine/batch.ts';
import { enhanceImage } from '../electron/engine/enhance-image.ts';
import { openModel } from '../electron/engine/model-catalog.ts';
import { type EngineModel, loadModel } from '../electron/engine/model-session.ts';
import { exportOnnx } from '../trainer/export/onnx-export.ts';
import { initialValues } from '../trainer/models/init.ts';
import { createUNet } from '../trainer/models/unet.ts';
import { Rng } from '../trainer/rng.ts';
import { runCommand } from './helpers/engine-fixtures.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
let dir: string;
let modelPath: string;
let model: EngineModel;

function pattern(widthPx: number, heightPx: number, seed: number): Buffer {
  const rng = new Rng(seed);
  const px = Buffer.alloc(widthPx * heightPx * 3);
  for (let i = 0; i < px.length; i++) px[i] = Math.round(128 + 80 * Math.sin(i / (50 + seed)) + 40 * (rng.next() - 0.5));
  return px;
}

async function writeImage(path: string, widthPx: number, heightPx: number, seed: number): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  const s = sharp(pattern(widthPx, heightPx, seed), { raw: { width: widthPx, height: heightPx, channels: 3 } });
  await (path.endsWith('.png') ? s.png() : s.jpeg({ quality: 90 })).toFile(path);
}

/** Every file under `d`, hidden ones included (temp files show), relative, sorted; the batch's journal is left out. */
async function tree(d: string): Promise<string[]> {
  const entries = await readdir(d, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && e.name !== journalName).map((e) => relative(d, join(e.parentPath, e.name))).sort();
}

async function hashes(d: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of await tree(d)) out[f] = createHash('sha256').update(await readFile(join(d, f))).digest('hex');
  return out;
}

/** The CLI as a user runs it, so a test can signal it. */
function cli(args: string[]): { child: ChildProcess; done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'cli/enhance.ts'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  child.stdout!.resume();
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((res) => child.on('exit', (code, signal) => res({ code, signal, stderr })));
  return { child, done };
}

/** Resolves once `d` holds a finished output (not a temp file). */
async function firstOutput(d: string, ext: string): Promise<void> {
  await mkdir(d, { recursive: true });
  await new Promise<void>((res) => {
    const check = () => readdir(d).then((names) => {
      if (names.some((n) => n.endsWith(ext) && !n.startsWith('.'))) {
        watcher.close();
        res();
      }
    });
    const watcher = watch(d, check);
    void check();
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'engine-batch-'));
  const def = createUNet({ task: 'upscale', scale: 2, widths: [8, 16, 32] });
  const rng = new Rng(11);
  modelPath = join(dir, 'tiny-x2.onnx');
  await writeFile(modelPath, exportOnnx(def, new Map(def.params.map((p) => [p.name, initialValues(p, 2).map((v) => v + rng.normal() * 0.05)]))));
  model = await loadModel(modelPath, { providers: 'cpu', threads: 2 });
});

after(async () => {
  await model.release();
  await rm(dir, { recursive: true, force: true });
});

test('good files are enhanced; empty, non-image and truncated files are reported with path and reason', async () => {
  const input = join(dir, 'mixed');
  await writeImage(join(input, 'a.jpg'), 40, 30, 1);
  await writeImage(join(input, 'b.png'), 36, 28, 2);
  await writeFile(join(input, 'empty.jpg'), '');
  await writeFile(join(input, 'notes.jpg'), 'this is a text file, not a JPEG\n');
  const jpeg = await sharp(pattern(64, 64, 3), { raw: { width: 64, height: 64, channels: 3 } }).jpeg().toBuffer();
  await writeFile(join(input, 'truncated.jpg'), jpeg.subarray(0, Math.floor(jpeg.length / 2)));
  await writeFile(join(input, 'readme.txt'), 'not an image extension: left alone');
  const out = join(dir, 'mixed-out');

  const events: BatchEvent[] = [];
  const summary = await runBatch(model, await planBatch(input, out), { onEvent: (e) => events.push(e) });
  assert.equal(summary.total, 5);
  assert.equal(summary.enhanced, 2);
  const reasons = Object.fromEntries(summary.failed.map((f) => [relative(input, f.inputPath), f.error.code]));
  assert.deepEqual(reasons, { 'empty.jpg': 'empty-file', 'notes.jpg': 'not-an-image', 'truncated.jpg': 'corrupt-image' });
  for (const f of summary.failed) {
    assert.equal(f.error.path, f.inputPath);
    assert.ok(f.error.message.length > 5, f.error.message);
  }
  assert.equal(events.filter((e) => e.type === 'file-failed').length, 3);
  assert.deepEqual(await tree(out), ['a.jpg', 'b.png']);
  const a = await sharp(join(out, 'a.jpg')).metadata();
  assert.deepEqual([a.format, a.width, a.height], ['jpeg', 80, 60]);

  // An output folder that cannot be created fails each file with that reason, and the batch goes on.
  const blocked = join(dir, 'blocked');
  await writeFile(blocked, 'a file where the output folder should be');
  const noFolder = await runBatch(model, await planBatch(input, join(blocked, 'out')));
  assert.deepEqual(noFolder.failed.map((f) => f.error.code), new Array(5).fill('output-not-writable'));
  assert.ok(noFolder.failed.every((f) => f.error.message.includes(join(blocked, 'out'))), noFolder.failed[0].error.message);

  // The CLI says the same and exits 1 for a partial failure; the rerun skips the two done files.
  const r = await runCommand(['upscale', input, '--out', out, '--model', modelPath, '--cpu']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /0 enhanced, 2 already done, 3 failed of 5 in .* MP\/s on cpu\)/);
  assert.match(r.stderr, /truncated\.jpg: .*\[corrupt-image\]/);
});

test('--recursive mirrors subfolders, skips an output folder inside the input, and never writes over an input', async () => {
  const input = join(dir, 'nested');
  await writeImage(join(input, 'top.png'), 32, 24, 4);
  await writeImage(join(input, 'trip', 'day1', 'beach.jpg'), 32, 24, 5);
  const inputHashes = await hashes(input);
  const out = join(input, 'enhanced');

  const first = await runBatch(model, await planBatch(input, out, { recursive: true }));
  assert.equal(first.enhanced, 2);
  assert.deepEqual(await tree(out), ['top.png', 'trip/day1/beach.jpg']);
  const again = await runBatch(model, await planBatch(input, out, { recursive: true }));
  assert.deepEqual([again.total, again.skipped, again.enhanced], [2, 2, 0]);

  // Output folder = input folder: each output would be its input, so each is refused.
  const flat = join(dir, 'flat');
  await writeImage(join(flat, 'one.png'), 32, 24, 6);
  await writeImage(join(flat, 'two.jpg'), 32, 24, 7);
  const flatHashes = await hashes(flat);
  const same = await runBatch(model, await planBatch(flat, flat));
  assert.deepEqual(same.failed.map((f) => f.error.code), ['would-overwrite-input', 'would-overwrite-input']);
  // As PNG the JPEG gets a new name and may go beside its input; the PNG still may not.
  const asPng = await runBatch(model, await planBatch(flat, flat, { format: 'png' }));
  assert.equal(asPng.enhanced, 1);
  assert.deepEqual(asPng.failed.map((f) => relative(flat, f.inputPath)), ['one.png']);
  assert.deepEqual(await tree(flat), ['one.png', 'two.jpg', 'two.png']);
  for (const [folder, was] of [[input, inputHashes], [flat, flatHashes]] as const) {
    const now = await hashes(folder);
    for (const [f, h] of Object.entries(was)) assert.equal(now[f], h, `${f} changed`);
  }

  // One file as input works too.
  const single = await runBatch(model, await planBatch(join(input, 'top.png'), join(dir, 'single')));
  assert.equal(single.enhanced, 1);
  assert.deepEqual(await tree(join(dir, 'single')), ['top.png']);
});

/** Eight photos big enough that a run takes a couple of seconds. */
async function eightPhotos(name: string): Promise<string> {
  const input = join(dir, name);
  for (let i = 0; i < 8; i++) await writeImage(join(input, `p${i}.png`), 320, 240, 20 + i);
  return input;
}

test('SIGKILL mid-batch, then a rerun: the same outputs as one uninterrupted run, and no temp files', async () => {
  const input = await eightPhotos('kill');
  const reference = join(dir, 'kill-reference');
  const whole = await runBatch(model, await planBatch(input, reference));
  assert.equal(whole.enhanced, 8);

  const out = join(dir, 'kill-out');
  const run = cli(['upscale', input, '--out', out, '--model', modelPath, '--cpu', '--threads', '1']);
  await firstOutput(out, '.png');
  run.child.kill('SIGKILL');
  assert.equal((await run.done).signal, 'SIGKILL');
  const finished = (await tree(out)).filter((f) => !f.startsWith('.'));
  assert.ok(finished.length >= 1 && finished.length < 8, `${finished.length} outputs when killed`);

  const rerun = await runCommand(['upscale', input, '--out', out, '--model', modelPath, '--cpu']);
  assert.equal(rerun.code, 0, rerun.stderr);
  assert.match(rerun.stderr, new RegExp(`${8 - finished.length} enhanced, ${finished.length} already done, 0 failed`));
  assert.deepEqual(await hashes(out), await hashes(reference));
});

test('abort (Ctrl-C) stops after the current tile with no partial file; SIGINT exits 130', async () => {
  const input = await eightPhotos('abort');
  const out = join(dir, 'abort-out');
  const controller = new AbortController();
  const summary = await runBatch(model, await planBatch(input, out), {
    signal: controller.signal,
    onEvent: (e) => {
      if (e.type === 'progress' && e.progress.filesDone === 1 && e.progress.current.length === 1) controller.abort();
    },
  });
  assert.equal(summary.aborted, true);
  assert.equal(summary.failed.length, 0);
  assert.deepEqual(await tree(out), ['p0.png']);

  const run = cli(['upscale', input, '--out', out, '--model', modelPath, '--cpu', '--threads', '1', '--tile-size', '96']);
  const outputsBefore = (await tree(out)).length;
  await new Promise<void>((res) => {
    const timer = setInterval(() => void tree(out).then((t) => t.length > outputsBefore && (clearInterval(timer), res())), 20);
  });
  run.child.kill('SIGINT');
  const r = await run.done;
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /stopping after the current tile/);
  const left = await tree(out);
  assert.ok(left.every((f) => !f.startsWith('.')), `temp files left: ${left}`);
  assert.ok(left.length < 8, 'the run was not interrupted');
  for (const f of left) assert.equal((await sharp(join(out, f)).metadata()).width, 640, f);
});

test('the CLI exits 2 on usage and model errors', async () => {
  const input = join(dir, 'mixed');
  const cases: [string[], RegExp][] = [
    [['upscale', input], /--out DIR is required/],
    [['upscale', input, '--out', join(dir, 'x'), '--scale', '3'], /--scale must be 2 or 4/],
    [['decrappify', input, '--out', join(dir, 'x'), '--model', modelPath], /does upscale ×2, not decrappify/],
    [['upscale', join(dir, 'no-such-folder'), '--out', join(dir, 'x')], /no-such-folder/],
  ];
  for (const [args, message] of cases) {
    const r = await runCommand(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
});

test('without --model the manifest default for the task and scale is used, checked by hash', async () => {
  const m = await openModel({ task: 'upscale', scale: 4 }, { providers: 'cpu', threads: 1 });
  assert.deepEqual([m.descriptor.task, m.descriptor.scale], ['upscale', 4]);
  await m.release();

  const modelsDir = join(dir, 'models');
  await cp(join(root, 'resources/models'), modelsDir, { recursive: true });
  const manifest = JSON.parse(await readFile(join(modelsDir, 'manifest.json'), 'utf8')) as { models: { file: string; descriptor: { task: string } }[] };
  const file = join(modelsDir, manifest.models.find((e) => e.descriptor.task === 'colorize')!.file);
  const bytes = await readFile(file);
  bytes[bytes.length - 1] ^= 1;
  await writeFile(file, bytes);
  await assert.rejects(openModel({ task: 'colorize', modelsDir }, { providers: 'cpu' }), (e: { code: string }) => e.code === 'model-invalid');
});

test('enhance --self-ensemble writes what the engine\'s Best quality gives, which differs from the plain run', async () => {
  const input = join(dir, 'best');
  await writeImage(join(input, 'a.png'), 48, 40, 7);
  const runs: Record<string, Buffer> = {};
  for (const [name, extra] of [['plain', []], ['best', ['--self-ensemble']]] as const) {
    const out = join(dir, `best-out-${name}`);
    const r = await cli(['decrappify', input, '--out', out, '--cpu', ...extra]).done;
    assert.equal(r.code, 0, r.stderr);
    runs[name] = await sharp(join(out, 'a.png')).raw().toBuffer();
  }
  const m = await openModel({ task: 'decrappify' }, { providers: 'cpu', threads: 1 });
  try {
    const expected = join(dir, 'best-expected.png');
    await enhanceImage(m, join(input, 'a.png'), expected, { selfEnsemble: true });
    assert.deepEqual(runs.best, await sharp(expected).raw().toBuffer());
  } finally {
    await m.release();
  }
  assert.notDeepEqual(runs.best, runs.plain);
});
