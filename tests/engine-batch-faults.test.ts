// The batch against hostile input and faults: alpha to JPEG, names at the file system's limits,
// symlinked output folders, foreign files at output names, signals, options at their bounds,
// usage and model errors, animations, abandoned temp files. Each case but the last failed before
// its fix (issue 10); the last guards the temp-file naming those fixes changed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import sharp from 'sharp';
import { planBatch, runBatch } from '../electron/engine/batch.ts';
import { tempPathFor } from '../electron/engine/enhance-image.ts';
import { type EngineModel, loadModel } from '../electron/engine/model-session.ts';
import { nameAppears, pattern, runCommand, spawnCli, tinyModel, tree } from './helpers/engine-fixtures.ts';

let dir: string;
/** Untrained decrappify: the identity, so outputs can be checked by value. */
let identity: EngineModel;
let upscalePath: string;

const png = (path: string, w: number, h: number, seed: number) =>
  sharp(pattern(w, h, 3, seed), { raw: { width: w, height: h, channels: 3 } }).png().toFile(path);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'engine-faults-'));
  identity = await loadModel(tinyModel('decrappify', 1), { providers: 'cpu', threads: 2 });
  upscalePath = join(dir, 'tiny-x2.onnx');
  await writeFile(upscalePath, tinyModel('upscale', 2, { noise: 0.05 }));
});

after(async () => {
  await identity.release();
  await rm(dir, { recursive: true, force: true });
});

test('alpha inputs (RGBA and grey+alpha PNG, WebP, GIF) to JPEG are composited on white', async () => {
  const input = join(dir, 'alpha');
  await mkdir(input);
  const w = 32;
  const h = 16;
  // Left half transparent, right half opaque orange (grey 90 for grey+alpha).
  const rgba = Buffer.alloc(w * h * 4);
  const ga = Buffer.alloc(w * h * 2);
  for (let i = 0; i < w * h; i++) {
    const opaque = i % w >= w / 2;
    rgba.set(opaque ? [200, 60, 30, 255] : [10, 200, 10, 0], 4 * i);
    ga.set([90, opaque ? 255 : 0], 2 * i);
  }
  const raw4 = () => sharp(rgba, { raw: { width: w, height: h, channels: 4 } });
  await raw4().png().toFile(join(input, 'rgba.png'));
  await sharp(ga, { raw: { width: w, height: h, channels: 2 } }).png().toFile(join(input, 'grey.png'));
  await raw4().webp({ lossless: true }).toFile(join(input, 'clip.webp'));
  await raw4().gif().toFile(join(input, 'icon.gif'));

  const out = join(dir, 'alpha-out');
  const summary = await runBatch(identity, await planBatch(input, out, { format: 'jpeg' }));
  assert.deepEqual(summary.failed, []);
  assert.equal(summary.enhanced, 4);
  for (const [name, colour] of [['rgba', [200, 60, 30]], ['grey', [90, 90, 90]], ['clip', [200, 60, 30]], ['icon', [200, 60, 30]]] as const) {
    const { data, info } = await sharp(join(out, `${name}.jpg`)).raw().toBuffer({ resolveWithObject: true });
    assert.equal(info.channels, 3, name);
    const at = (x: number) => [...data.subarray((8 * w + x) * 3, (8 * w + x) * 3 + 3)];
    assert.ok(at(4).every((v) => v >= 245), `${name}: transparent part is ${at(4)}, not white`);
    assert.ok(at(w - 4).every((v, c) => Math.abs(v - colour[c]) <= 12), `${name}: opaque part is ${at(w - 4)}, not ${colour}`);
  }
});

test('names up to the 255-byte limit and names that are not UTF-8 are enhanced; an output name over it is a clear error', async () => {
  const input = join(dir, 'names');
  await mkdir(input);
  const long = `${'a'.repeat(251)}.png`;
  await png(join(input, long), 24, 16, 1);
  // "fété.png" and a folder "café" in Latin-1: bytes that are not UTF-8.
  const bytes = (...parts: (string | number[])[]) => Buffer.concat(parts.map((p) => Buffer.from(p as string)));
  const latin1Name = bytes(input, '/f', [0xe9], 't', [0xe9], '.png');
  const photo = await sharp(pattern(24, 16, 3, 2), { raw: { width: 24, height: 16, channels: 3 } }).png().toBuffer();
  await writeFile(latin1Name, photo);
  await mkdir(bytes(input, '/caf', [0xe9]));
  await writeFile(bytes(input, '/caf', [0xe9], '/inside.png'), photo);

  const out = join(dir, 'names-out');
  const plan = await planBatch(input, out, { recursive: true });
  const summary = await runBatch(identity, plan);
  assert.deepEqual(summary.failed, []);
  assert.equal(summary.enhanced, 3);
  assert.equal((await sharp(join(out, long)).metadata()).width, 24);
  for (const output of [bytes(out, '/f', [0xe9], 't', [0xe9], '.png'), bytes(out, '/caf', [0xe9], '/inside.png')]) {
    assert.deepEqual(await sharp(await readFile(output)).raw().toBuffer(), await sharp(photo).raw().toBuffer());
  }
  // Shown with U+FFFD where the bytes are not UTF-8.
  assert.ok(plan.items.some((i) => relative(input, i.inputPath) === 'f\ufffdt\ufffd.png'));

  // A 255-byte JPEG name becomes a 256-byte WebP name: refused per photo, saying why.
  const edge = join(dir, 'edge');
  await mkdir(edge);
  await sharp(pattern(24, 16, 3, 3), { raw: { width: 24, height: 16, channels: 3 } }).jpeg().toFile(join(edge, `${'b'.repeat(251)}.jpg`));
  const tooLong = await runBatch(identity, await planBatch(edge, join(dir, 'edge-out'), { format: 'webp' }));
  assert.deepEqual(tooLong.failed.map((f) => f.error.code), ['output-not-writable']);
  assert.match(tooLong.failed[0].error.message, /longer than the file system allows/);
});

test('an output folder reached through a symlink is not walked as input: reruns skip, nothing nests', async () => {
  const input = join(dir, 'linked');
  await mkdir(join(input, 'sub'), { recursive: true });
  await png(join(input, 'a.png'), 24, 16, 4);
  await png(join(input, 'sub', 'b.png'), 24, 16, 5);
  await mkdir(join(input, 'enhanced'));
  const outLink = join(dir, 'linked-out');
  await symlink(join(input, 'enhanced'), outLink);
  const inLink = join(dir, 'linked-in');
  await symlink(input, inLink);

  for (const [from, to] of [[input, outLink], [input, outLink], [inLink, join(input, 'enhanced')]]) {
    const plan = await planBatch(from, to, { recursive: true });
    assert.deepEqual(plan.items.map((i) => relative(from, i.inputPath)), ['a.png', 'sub/b.png'], `${from} → ${to}`);
    await runBatch(identity, plan);
  }
  assert.deepEqual(await tree(join(input, 'enhanced')), ['a.png', 'sub/b.png']);
});

test('a file the batch did not write is reported and left alone; only journalled outputs count as done', async () => {
  const input = join(dir, 'foreign');
  await mkdir(input);
  for (const [i, name] of ['a', 'b', 'c', 'd'].entries()) await png(join(input, `${name}.png`), 24, 16, 10 + i);
  const out = join(dir, 'foreign-out');
  await mkdir(join(out, 'c.png'), { recursive: true });
  await writeFile(join(out, 'a.png'), 'someone else\'s file');
  await writeFile(join(out, 'b.png'), '');

  const reasons = async () => {
    const s = await runBatch(identity, await planBatch(input, out));
    return { enhanced: s.enhanced, skipped: s.skipped, failed: Object.fromEntries(s.failed.map((f) => [relative(input, f.inputPath), `${f.error.code}: ${f.error.message}`])) };
  };
  const first = await reasons();
  assert.deepEqual([first.enhanced, first.skipped], [1, 0]);
  assert.deepEqual(Object.keys(first.failed), ['a.png', 'b.png', 'c.png']);
  assert.match(first.failed['a.png'], /^output-collision: .*a\.png already exists and was not written by Enhance/);
  assert.match(first.failed['b.png'], /^output-collision: .*b\.png already exists/);
  assert.match(first.failed['c.png'], /^output-collision: a folder is in the way/);
  assert.equal(await readFile(join(out, 'a.png'), 'utf8'), 'someone else\'s file');
  assert.equal((await stat(join(out, 'b.png'))).size, 0);

  // A rerun skips the one it finished and still reports the others.
  const second = await reasons();
  assert.deepEqual([second.enhanced, second.skipped, Object.keys(second.failed).length], [0, 1, 3]);
  // An output changed after it was written is no longer taken as done, nor overwritten.
  await writeFile(join(out, 'd.png'), 'edited');
  assert.match((await reasons()).failed['d.png'], /d\.png changed since Enhance wrote it/);
  assert.equal(await readFile(join(out, 'd.png'), 'utf8'), 'edited');
});

test('a rerun in the other quality does not pass off the earlier outputs as its own, nor replace them', async () => {
  const input = join(dir, 'quality');
  await mkdir(input);
  for (const [i, name] of ['a', 'b'].entries()) await png(join(input, `${name}.png`), 24, 16, 30 + i);
  const out = join(dir, 'quality-out');
  const run = async (best: boolean) => {
    const s = await runBatch(identity, await planBatch(input, out), { selfEnsemble: best });
    return { enhanced: s.enhanced, skipped: s.skipped, failed: s.failed.map((f) => `${relative(input, f.inputPath)} ${f.error.code}: ${f.error.message}`) };
  };
  assert.deepEqual(await run(false), { enhanced: 2, skipped: 0, failed: [] });
  const fastBytes = await readFile(join(out, 'a.png'));
  const best = await run(true);
  assert.deepEqual([best.enhanced, best.skipped], [0, 0]);
  assert.equal(best.failed.length, 2);
  assert.match(best.failed[0], /^a\.png output-collision: .*a\.png was enhanced in Fast quality by an earlier run; choose another output folder \(or move it away\) for Best$/);
  assert.deepEqual(await readFile(join(out, 'a.png')), fastBytes);
  // Moved away, it is made again in Best; then each quality's rerun treats the folder as its own or not.
  await rm(join(out, 'a.png'));
  assert.deepEqual((await run(true)).enhanced, 1);
  assert.deepEqual((await run(true)).failed.map((f) => f.replace(/:.*/, '')), ['b.png output-collision']);
  assert.deepEqual(await run(false), { enhanced: 0, skipped: 1, failed: [`a.png output-collision: ${join(out, 'a.png')} was enhanced in Best quality by an earlier run; choose another output folder (or move it away) for Fast`] });
});

test('a rerun removes the temp files of a killed run and keeps those of a live one', async () => {
  const input = join(dir, 'temps');
  await mkdir(input);
  await png(join(input, 'one.png'), 24, 16, 60);
  const out = join(dir, 'temps-out');
  await mkdir(out);
  const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
  try {
    const deadPid = spawnSync(process.execPath, ['-e', '']).pid;
    // Named by the engine, as another process would be.
    const temp = (pid: number | undefined) => basename(tempPathFor(join(out, 'one.png'))).replace(`.${process.pid}.`, `.${pid}.`);
    await writeFile(join(out, temp(deadPid)), 'abandoned');
    await writeFile(join(out, temp(live.pid)), 'being written');
    assert.equal((await runBatch(identity, await planBatch(input, out))).enhanced, 1);
    assert.deepEqual((await tree(out)).map((f) => f.replace(/^\.[0-9a-f]+\.(\d+)\.[0-9a-f]+\.enhance-tmp$/, '.temp of $1')), [`.temp of ${live.pid}`, 'one.png']);
  } finally {
    live.kill();
  }
});

async function photos(name: string, count: number, w: number, h: number): Promise<string> {
  const input = join(dir, name);
  await mkdir(input, { recursive: true });
  for (let i = 0; i < count; i++) await png(join(input, `p${i}.png`), w, h, 20 + i);
  return input;
}

test('SIGTERM and SIGHUP stop like Ctrl-C: complete outputs only, no temp files, exit 143 and 129', async () => {
  const input = await photos('signals', 4, 320, 240);
  await Promise.all((['SIGTERM', 'SIGHUP'] as const).map(async (signal) => {
    const out = join(dir, `signals-${signal}`);
    const run = spawnCli(['upscale', input, '--out', out, '--model', upscalePath, '--cpu', '--threads', '1', '--tile-size', '96']);
    await nameAppears(out, (n) => n.endsWith('.png') && !n.startsWith('.'));
    run.child.kill(signal);
    const r = await run.done;
    assert.equal(r.code, signal === 'SIGTERM' ? 143 : 129, `${signal}: ${r.signal ?? ''} ${r.stderr}`);
    assert.match(r.stderr, /stopping after the current tile/);
    const left = await tree(out);
    assert.ok(left.length >= 1 && left.length < 4, `${signal}: ${left}`);
    for (const f of left) assert.equal((await sharp(join(out, f)).metadata()).width, 640, f);
  }));
});

test('a second Ctrl-C quits at once and removes the temp file being written', async () => {
  const input = await photos('twice', 2, 640, 480);
  const out = join(dir, 'twice-out');
  const run = spawnCli(['upscale', input, '--out', out, '--model', upscalePath, '--cpu', '--threads', '1']);
  // The first Ctrl-C while an output is being written; the second once the first is acknowledged.
  await nameAppears(out, (n) => n.endsWith('.enhance-tmp'));
  run.child.kill('SIGINT');
  await new Promise<void>((res) => {
    const check = () => run.stderr().includes('stopping') && (run.child.stderr!.off('data', check), res());
    run.child.stderr!.on('data', check);
    check();
  });
  run.child.kill('SIGINT');
  const r = await run.done;
  assert.equal(r.code, 130, r.stderr);
  const left = await tree(out);
  assert.ok(left.every((f) => !f.startsWith('.')), `temp files left: ${left}`);
});

test('every numeric option works at its upper bound and is a usage error past it', async () => {
  const input = join(dir, 'bounds');
  await mkdir(input);
  await png(join(input, 'one.png'), 24, 16, 30);
  const base = ['upscale', input, '--out', join(dir, 'bounds-out'), '--model', upscalePath, '--cpu', '--format', 'jpeg'];
  const atBounds = await runCommand([...base, '--quality', '100', '--jobs', '64', '--tile-size', '2048', '--max-megapixels', '1000', '--threads', String(availableParallelism())]);
  assert.equal(atBounds.code, 0, atBounds.stderr);
  assert.match(atBounds.stderr, /1 enhanced/);
  for (const [flag, value] of [['--quality', '101'], ['--jobs', '65'], ['--tile-size', '2049'], ['--max-megapixels', '1001'], ['--threads', String(availableParallelism() + 1)], ['--max-megapixels', '9007199254740991'], ['--jobs', '1e1']]) {
    const r = await runCommand([...base, flag, value]);
    assert.equal(r.code, 2, `${flag} ${value}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`${flag} must be .* from 1 to \\d+, not '${value}'`));
  }
});

test('--out naming a file, or a model whose graph disagrees with its metadata, stops at once: exit 2, one line', async () => {
  const input = join(dir, 'usage');
  await mkdir(input);
  for (let i = 0; i < 2; i++) await png(join(input, `u${i}.png`), 24, 16, 40 + i);
  const file = join(dir, 'not-a-folder');
  await writeFile(file, 'a file');
  const lying = join(dir, 'lying-x4.onnx');
  await writeFile(lying, tinyModel('upscale', 2, { noise: 0.05, descriptor: { scale: 4 } }));
  const out = join(dir, 'usage-out');
  for (const [args, message] of [
    [['--out', file, '--model', upscalePath], /not-a-folder is a file/],
    [['--out', out, '--model', lying, '--scale', '4'], /graph disagrees with its metadata/],
  ] as const) {
    const r = await runCommand(['upscale', input, ...args, '--cpu']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  assert.equal(await lstat(out).then(async () => (await tree(out)).length, () => 0), 0);
});

test('an animated GIF or WebP is reported, not cut to its first frame', async () => {
  const input = join(dir, 'animated');
  await mkdir(input);
  const frames = { raw: { width: 16, height: 48, channels: 4 as const, pageHeight: 16 } };
  await sharp(pattern(16, 48, 4, 50), frames).gif().toFile(join(input, 'loop.gif'));
  await sharp(pattern(16, 48, 4, 51), frames).webp({ lossless: true }).toFile(join(input, 'loop.webp'));
  const summary = await runBatch(identity, await planBatch(input, join(dir, 'animated-out')));
  assert.equal(summary.enhanced, 0);
  assert.deepEqual(summary.failed.map((f) => f.error.code), ['unsupported', 'unsupported']);
  for (const f of summary.failed) assert.match(f.error.message, /animation of 3 frames/);
});
