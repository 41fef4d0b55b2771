// The Datasets API (issue 9 item 1) through `dispatch`, with import jobs in worker threads: a folder
// with a corrupt file, thumbnails paged for a virtualised grid, cancel and resume, delete (the photos
// stay), a catalogue that survives a kill mid-write, and folders outside the roots refused.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { ApiArgs, ApiMethodName, ApiReply, ApiResult } from '../common/api.ts';
import type { JobEvent, JobInfo } from '../common/jobs.ts';
import type { ApiContext } from '../electron/api/context.ts';
import { createApiContext } from '../electron/api/create-context.ts';
import { dispatch } from '../electron/api/dispatch.ts';
import { readDatasetCatalogue } from '../electron/services/dataset-catalogue.ts';

let dir: string;
let root: string;
let ctx: ApiContext;
const events: JobEvent[] = [];

async function writePng(path: string, widthPx: number, heightPx: number, seed: number): Promise<void> {
  const px = Buffer.alloc(widthPx * heightPx * 3);
  for (let i = 0; i < px.length; i++) px[i] = (i * (seed + 7) + (i >> 8) * 31) % 251;
  await sharp(px, { raw: { width: widthPx, height: heightPx, channels: 3 } }).png({ compressionLevel: 1 }).toFile(path);
}

async function call<M extends ApiMethodName>(method: M, args: ApiArgs<M>, c = ctx): Promise<ApiResult<M>> {
  const reply = (await dispatch(c, method, args)) as ApiReply<M>;
  if (!reply.ok) assert.fail(`${method}: ${reply.error.code}: ${reply.error.message}`);
  return reply.value;
}

async function fails(method: ApiMethodName, args: unknown, code: string): Promise<string> {
  const reply = await dispatch(ctx, method, args);
  assert.equal(reply.ok, false, `${method} should fail`);
  if (reply.ok) throw new Error('unreachable');
  assert.equal(reply.error.code, code, reply.error.message);
  return reply.error.message;
}

const waitJob = (jobId: string): Promise<JobInfo> => ctx.jobs.wait(jobId);

before(async () => {
  dir = realpathSync(await mkdtemp(join(tmpdir(), 'enhance-app-datasets-')));
  root = join(dir, 'root');
  mkdirSync(join(root, 'photos', 'trip'), { recursive: true });
  for (let i = 0; i < 3; i++) await writePng(join(root, 'photos', `p${i}.png`), 40 + 8 * i, 30, i);
  for (let i = 0; i < 2; i++) await writePng(join(root, 'photos', 'trip', `t${i}.png`), 200, 120, 10 + i);
  writeFileSync(join(root, 'photos', 'broken.jpg'), Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(200, 7)]));
  writeFileSync(join(root, 'photos', 'notes.txt'), 'not a photo');
  ctx = createApiContext({ mode: 'browser', dataDir: join(dir, 'data'), roots: [root], providers: 'cpu', threads: 1 });
  ctx.jobs.onEvent((e) => events.push(e));
});

after(async () => {
  await ctx.jobs.dispose();
  rmSync(dir, { recursive: true, force: true });
});

test('a folder with a corrupt file: imported with progress, the skipped files listed with their reasons; again: same dataset, nothing decoded', async () => {
  const folder = join(root, 'photos');
  const { jobId, datasetId } = await call('importDataset', { folder, name: 'Holiday' });
  assert.equal((await call('listDatasets', {})).find((d) => d.id === datasetId)?.status, 'importing');
  const job = await waitJob(jobId);
  assert.equal(job.status, 'done', JSON.stringify(job.error));
  const mine = events.filter((e) => e.jobId === jobId);
  const progress = mine.flatMap((e) => (e.type === 'progress' ? [e.progress] : []));
  assert.ok(progress.length > 0);
  assert.match(progress.at(-1)!.message, /^7\/7 photos$/);
  assert.equal(progress.at(-1)!.fraction, 1);
  const skippedEvents = mine.flatMap((e) => (e.type === 'file' ? [e.file] : []));
  assert.deepEqual(skippedEvents.map((f) => [f.input, f.status, f.error?.code]).sort(), [
    [join(folder, 'broken.jpg'), 'skipped', 'corrupt-image'], [join(folder, 'notes.txt'), 'skipped', 'not-an-image'],
  ]);

  const [d] = (await call('listDatasets', {})).filter((x) => x.id === datasetId);
  assert.equal(d.name, 'Holiday');
  assert.equal(d.folder, folder);
  assert.equal(d.status, 'ready');
  assert.equal(d.count, 5);
  assert.equal(d.layout, 'photos');
  const reasons = new Map(d.skipped.map((s) => [s.path, s.reason]));
  assert.match(reasons.get(join(folder, 'broken.jpg'))!, /truncated|corrupt|undecodable/);
  assert.match(reasons.get(join(folder, 'notes.txt'))!, /not an image file type/);

  const again = await call('importDataset', { folder });
  assert.equal(again.datasetId, datasetId, 'the same folder continues its dataset');
  const second = await waitJob(again.jobId);
  assert.deepEqual([(second.result as { added?: number }).added, (second.result as { alreadyStored?: number }).alreadyStored], [0, 5]);
  assert.equal((await call('listDatasets', {})).filter((x) => x.folder === folder).length, 1);
});

test('thumbnails page through the dataset: small JPEGs made once, readable through the guard', async () => {
  const d = (await call('listDatasets', {})).find((x) => x.name === 'Holiday')!;
  const page = await call('datasetThumbnails', { id: d.id, offset: 1, limit: 3 });
  assert.equal(page.total, 5);
  assert.deepEqual(page.items.map((i) => i.index), [1, 2, 3]);
  for (const item of page.items) {
    const meta = await sharp(item.path).metadata();
    assert.equal(meta.format, 'jpeg');
    assert.ok(Math.max(meta.width!, meta.height!) <= 96, `${meta.width}×${meta.height}`);
    assert.equal(Math.max(meta.width!, meta.height!), Math.min(96, Math.max(item.widthPx, item.heightPx)));
    assert.equal(ctx.guard.check(item.path, 'read'), item.path);
    assert.ok(existsSync(item.source));
  }
  const mtimes = page.items.map((i) => statSync(i.path).mtimeMs);
  const again = await call('datasetThumbnails', { id: d.id, offset: 1, limit: 3 });
  assert.deepEqual(again.items.map((i) => statSync(i.path).mtimeMs), mtimes, 'thumbnails are made once');
  const tail = await call('datasetThumbnails', { id: d.id, offset: 4, limit: 200 });
  assert.deepEqual(tail.items.map((i) => i.index), [4]);
  assert.deepEqual((await call('datasetThumbnails', { id: d.id, offset: 5, limit: 10 })).items, []);
  await fails('datasetThumbnails', { id: d.id, offset: 0, limit: 201 }, 'invalid-argument');
  await fails('datasetThumbnails', { id: 'ds-nope', offset: 0, limit: 10 }, 'unknown-id');
});

test('a labelled class-folder layout keeps its classes', async () => {
  const folder = join(root, 'labelled');
  for (const c of ['cats', 'dogs']) {
    mkdirSync(join(folder, c), { recursive: true });
    await writePng(join(folder, c, 'a.png'), 32, 32, c.length);
  }
  const { jobId, datasetId } = await call('importDataset', { folder, layout: 'labelled' });
  assert.equal((await waitJob(jobId)).status, 'done');
  const d = (await call('listDatasets', {})).find((x) => x.id === datasetId)!;
  assert.deepEqual(d.classes?.map((c) => c.id), ['cats', 'dogs']);
  assert.equal(d.count, 2);
});

test('a cancelled import is incomplete, and importing the folder again resumes it', async () => {
  const folder = join(root, 'many');
  mkdirSync(folder);
  for (let i = 0; i < 40; i++) await writePng(join(folder, `m${String(i).padStart(2, '0')}.png`), 640, 480, i);
  const { jobId, datasetId } = await call('importDataset', { folder });
  await new Promise<void>((resolve) => {
    const off = ctx.jobs.onEvent((e) => {
      if (e.jobId === jobId && e.type === 'progress') {
        off();
        void call('cancelJob', { jobId }).then(() => resolve());
      }
    });
  });
  const cancelled = await waitJob(jobId);
  assert.equal(cancelled.status, 'cancelled');
  const stored = (cancelled.result as { count: number }).count;
  assert.ok(stored < 40, `${stored} stored before the cancel`);
  const d = (await call('listDatasets', {})).find((x) => x.id === datasetId)!;
  assert.equal(d.status, 'incomplete');
  assert.equal(d.count, stored);

  const again = await call('importDataset', { folder });
  assert.equal(again.datasetId, datasetId);
  const done = await waitJob(again.jobId);
  const r = done.result as { count: number; added: number; alreadyStored: number };
  assert.deepEqual([r.count, r.alreadyStored, r.added], [40, stored, 40 - stored]);
  assert.equal((await call('listDatasets', {})).find((x) => x.id === datasetId)!.status, 'ready');
});

test('delete removes the store and thumbnails, never the photos; refused while importing', async () => {
  const folder = join(root, 'photos');
  const d = (await call('listDatasets', {})).find((x) => x.folder === folder)!;
  const own = join(dir, 'data', 'datasets', d.id);
  assert.ok(existsSync(join(own, 'store')) && existsSync(join(own, 'thumbs')));
  const photosBefore = readdirSync(folder, { recursive: true }).sort();

  const busy = await call('importDataset', { folder });
  assert.match(await fails('deleteDataset', { id: d.id }, 'usage'), /still importing/);
  await waitJob(busy.jobId);

  assert.deepEqual(await call('deleteDataset', { id: d.id }), { deleted: true });
  assert.ok(!existsSync(own));
  assert.deepEqual(readdirSync(folder, { recursive: true }).sort(), photosBefore);
  assert.ok(!(await call('listDatasets', {})).some((x) => x.id === d.id));
  await fails('deleteDataset', { id: d.id }, 'unknown-id');
});

test('folders outside the roots, missing folders and files are refused with a clear reason', async () => {
  const outside = join(dir, 'outside');
  mkdirSync(outside);
  await writePng(join(outside, 'o.png'), 16, 16, 1);
  await fails('importDataset', { folder: outside }, 'forbidden-path');
  await fails('importDataset', { folder: 'photos' }, 'forbidden-path');
  await fails('importDataset', { folder: join(root, 'nope') }, 'not-found');
  assert.match(await fails('importDataset', { folder: join(root, 'photos', 'p0.png') }, 'usage'), /is a file; choose a folder/);
  await fails('importDataset', { folder: root, layout: 'zip' }, 'invalid-argument');
});

test('the catalogue survives a torn write and a kill in the middle of writing it', async () => {
  const path = join(dir, 'data', 'datasets', 'catalogue.json');
  const before = readDatasetCatalogue(path);
  // A write interrupted before its rename leaves only a temp file beside the catalogue.
  const text = readFileSync(path, 'utf8');
  writeFileSync(join(dir, 'data', 'datasets', '.catalogue.json.99999.tmp'), text.slice(0, text.length >> 1));
  const reopened = createApiContext({ mode: 'browser', dataDir: join(dir, 'data'), roots: [root], providers: 'cpu', jobMode: 'in-process' });
  assert.deepEqual((await call('listDatasets', {}, reopened)).map((d) => d.id), before.datasets.map((d) => d.id));

  // A real kill: a child rewrites a large catalogue in a loop until SIGKILL lands mid-write.
  const killDir = join(dir, 'kill');
  mkdirSync(killDir);
  const target = join(killDir, 'catalogue.json');
  const module = fileURLToPath(new URL('../electron/services/dataset-catalogue.ts', import.meta.url));
  const code = `import { writeDatasetCatalogue } from ${JSON.stringify(module)};
    const big = (n) => ({ version: 1, datasets: Array.from({ length: n }, (_, i) => ({ id: 'ds-' + i, name: 'd' + i, folder: '/photos/' + i, layout: 'photos',
      count: i, skipped: Array.from({ length: 20 }, (_, k) => ({ path: '/photos/' + i + '/bad' + k + '.jpg', reason: 'corrupt or undecodable image' })),
      status: 'ready', createdAt: 0, updatedAt: 0 })) });
    const a = big(3000), b = big(3001);
    writeDatasetCatalogue(${JSON.stringify(target)}, a);
    process.stdout.write('writing\\n');
    for (let i = 0; ; i++) writeDatasetCatalogue(${JSON.stringify(target)}, i % 2 ? a : b);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  await new Promise((r) => setTimeout(r, 300));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const survived = readDatasetCatalogue(target);
  assert.ok([3000, 3001].includes(survived.datasets.length), `${survived.datasets.length} datasets`);
});
