// Issue 9 end to end in Chromium against `enhance serve`: import a folder of generated photos with a
// corrupt file (listed as skipped), fine-tune a tiny ×2 model for 2 one-epoch stages (encoder frozen,
// then all), pause and resume from the checkpoint, export, find the model in Models and enhance a
// photo with it. With ENHANCE_SCREENSHOTS=1 it writes docs/screenshots/{datasets,train}.png.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import type { JobEvent, TrainPoint } from '../common/jobs.ts';
import type { ApiContext } from '../electron/api/context.ts';
import { createApiContext } from '../electron/api/create-context.ts';
import { exportOnnx } from '../trainer/export/onnx-export.ts';
import { ParamLayout } from '../trainer/fit/param-layout.ts';
import { buildModel } from '../trainer/models/build-model.ts';
import { browseTo, byTestId, loadedImageSize } from './helpers/e2e-page.ts';
import { type AppSession, openApp } from './helpers/e2e-session.ts';

/** 10 photos: 1 held out for validation, 9 steps per epoch at batch 1. */
const photoCount = 10;
const stepsPerEpoch = 9;
/** Enough for three pages of thumbnails. */
const manyCount = 450;

let dir: string;
let root: string;
let ctx: ApiContext;
let app: AppSession;
let page: Page;
const events: JobEvent[] = [];

/** A small "photo" with its own colours and shapes, so crops differ and the thumbnails tell apart. */
async function makePhoto(path: string, seed: number): Promise<void> {
  const hue = (seed * 37) % 360;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="64" height="48">
    <defs><linearGradient id="g" x1="0" y1="0" x2="${seed % 2}" y2="1"><stop offset="0" stop-color="hsl(${hue},65%,30%)"/><stop offset="1" stop-color="hsl(${hue + 40},70%,72%)"/></linearGradient></defs>
    <rect width="64" height="48" fill="url(#g)"/>
    <circle cx="${10 + ((seed * 13) % 44)}" cy="${8 + ((seed * 7) % 30)}" r="${5 + (seed % 6)}" fill="hsl(${hue + 180},80%,60%)"/>
    <path d="M0 ${30 + (seed % 8)} Q20 ${18 + (seed % 10)} 40 ${34 - (seed % 6)} T64 ${28 + (seed % 9)} V48 H0 Z" fill="hsl(${hue + 90},45%,25%)"/>
    <rect x="${(seed * 11) % 50}" y="${20 + (seed % 12)}" width="12" height="3" fill="#f4efe6"/>
  </svg>`;
  await sharp(Buffer.from(svg)).png().toFile(path);
}

const trainPoints = (jobId: string): TrainPoint[] => events.flatMap((e) => (e.jobId === jobId && e.type === 'train' ? [e.point] : []));
const trainJobs = (): string[] => [...new Set(events.flatMap((e) => (e.type === 'started' && e.kind === 'train' ? [e.jobId] : [])))];

describe('datasets and fine-tuning in Chromium (browser mode)', () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'enhance-e2e-train-'));
    root = join(dir, 'root');
    for (const d of ['photos/sub', 'models', 'enhance', 'many']) mkdirSync(join(root, d), { recursive: true });
    // Some in a subfolder: the import is recursive.
    for (let i = 0; i < photoCount; i++) await makePhoto(join(root, 'photos', i < 7 ? '' : 'sub', `photo-${i}.png`), i + 1);
    await writeFile(join(root, 'photos', 'broken.jpg'), randomBytes(2000));
    await makePhoto(join(root, 'enhance', 'snapshot.png'), 42);
    for (let i = 0; i < manyCount; i++) {
      const px = Buffer.alloc(24 * 16 * 3, i % 256);
      px.fill((i * 7) % 256, 0, 24 * 8 * 3);
      await sharp(px, { raw: { width: 24, height: 16, channels: 3 } }).png().toFile(join(root, 'many', `m-${String(i).padStart(3, '0')}.png`));
    }
    // A tiny ×2 U-Net (a few thousand parameters) as the base: the shipped ones would take minutes here.
    const def = buildModel({ kind: 'unet', options: { task: 'upscale', scale: 2, widths: [4, 8] } });
    const layout = new ParamLayout(def.params);
    writeFileSync(join(root, 'models', 'tiny-x2.onnx'), exportOnnx(def, layout.toMap(layout.initialWeights(7))));

    ctx = createApiContext({ mode: 'browser', dataDir: join(dir, 'data'), roots: [root], providers: 'cpu', threads: 1, trainWorkers: 0 });
    ctx.jobs.onEvent((e) => events.push(e));
    app = await openApp(ctx);
    page = app.page;
  });

  after(async () => {
    await app?.close();
    await ctx?.jobs.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('datasets: import a folder recursively; the corrupt file is listed as skipped with its reason; thumbnails', async () => {
    await byTestId(page, 'nav-datasets').click();
    await byTestId(page, 'datasets-empty').filter({ hasText: 'No datasets yet' }).waitFor();
    await byTestId(page, 'dataset-folder').click();
    await browseTo(page, root, ['photos']);
    await byTestId(page, 'dataset-import').click();
    const summary = byTestId(page, 'dataset-import-summary');
    const failed = byTestId(page, 'dataset-import-failed');
    await summary.or(failed).first().waitFor();
    if (await failed.isVisible()) assert.fail(`the import failed: ${await failed.textContent()}`);
    assert.deepEqual([await summary.getAttribute('data-count'), await summary.getAttribute('data-skipped')], [String(photoCount), '1']);

    const counts = page.locator(`[data-testid="dataset-counts"][data-count="${photoCount}"]`);
    await counts.waitFor();
    assert.equal(await counts.getAttribute('data-skipped'), '1');
    const skipped = byTestId(page, 'skipped-row');
    assert.equal(await skipped.count(), 1);
    assert.match((await skipped.getAttribute('data-path'))!, /broken\.jpg$/);
    assert.ok(((await byTestId(skipped, 'skipped-reason').textContent()) ?? '').length > 5, 'the reason is shown');

    const grid = byTestId(page, 'thumb-grid');
    await page.locator(`[data-testid="thumb-grid"][data-total="${photoCount}"]`).waitFor();
    const thumbs = byTestId(grid, 'thumb').locator('img');
    await page.waitForFunction(([sel, n]) => document.querySelectorAll(sel).length === n, ['[data-testid="thumb"] img', photoCount] as const);
    for (let i = 0; i < photoCount; i++) {
      const size = await loadedImageSize(thumbs.nth(i));
      assert.deepEqual([size.width, size.height], [64, 48], 'small photos are not enlarged');
    }
    await app.shot('datasets');
    app.assertNoPageErrors();
  });

  test('train: 2 stages on a tiny model, pause and resume from the checkpoint, export, enhance with it', async () => {
    // The base model, imported through the Models view.
    await byTestId(page, 'nav-models').click();
    await byTestId(page, 'model-import').click();
    await browseTo(page, root, ['models'], 'tiny-x2.onnx');
    await byTestId(page, 'model-imported').waitFor();
    const baseId = (await page.locator('[data-testid="model-row"][data-name="tiny-x2"]').getAttribute('data-id'))!;

    await byTestId(page, 'nav-train').click();
    await byTestId(page, 'train-task').selectOption('upscale-2');
    await byTestId(page, 'train-base-model').selectOption(baseId);
    // The default plan: the encoder frozen for an epoch, then everything at a fifth of the rate.
    const stages = byTestId(page, 'stage');
    await page.locator('[data-testid="stage-freeze"][data-group="head"]').first().waitFor();
    assert.equal(await stages.count(), 2);
    assert.equal(await stages.nth(0).locator('[data-testid="stage-freeze"][data-group="encoder"]').isChecked(), true);
    assert.equal(await stages.nth(1).locator('[data-testid="stage-freeze"]:checked').count(), 0);
    assert.deepEqual([await byTestId(stages.nth(0), 'stage-lr').inputValue(), await byTestId(stages.nth(1), 'stage-lr').inputValue()], ['1e-3', '2e-4']);
    await byTestId(page, 'train-batch').fill('1');

    // Validated as it is typed: a crop the model cannot take, a stage that freezes everything.
    await byTestId(page, 'train-crop').fill('18');
    await byTestId(page, 'plan-error').filter({ hasText: /multiple of 4 px/ }).waitFor();
    await byTestId(page, 'train-crop').fill('16');
    for (const g of ['encoder', 'decoder', 'head']) await stages.nth(1).locator(`[data-testid="stage-freeze"][data-group="${g}"]`).check();
    await byTestId(stages.nth(1), 'stage-error').filter({ hasText: 'stage 2 freezes every layer group' }).waitFor();
    for (const g of ['decoder', 'head']) await stages.nth(1).locator(`[data-testid="stage-freeze"][data-group="${g}"]`).uncheck();
    // Moving the stage with the frozen encoder down and back up keeps its settings with it.
    await byTestId(stages.nth(0), 'stage-down').click();
    assert.equal(await stages.nth(1).locator('[data-testid="stage-freeze"][data-group="encoder"]').isChecked(), true);
    await byTestId(stages.nth(1), 'stage-up').click();
    await stages.nth(1).locator('[data-testid="stage-freeze"][data-group="encoder"]').uncheck();
    const ok = page.locator('[data-testid="plan-summary"][data-ok="true"]');
    await ok.waitFor();
    assert.equal(await ok.getAttribute('data-total-steps'), String(2 * stepsPerEpoch));
    await byTestId(page, 'train-name').fill('Tiny ×2 on my photos');

    await byTestId(page, 'train-start').click();
    await page.locator('[data-testid="run-status"][data-status="running"]').waitFor();
    // Pause once a couple of steps are charted: it stops after the batch in flight and checkpoints there.
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="run-facts"]')?.getAttribute('data-step')) >= 2);
    await byTestId(page, 'run-pause').click();
    const status = page.locator('[data-testid="run-status"]:not([data-status="running"])');
    await status.waitFor();
    assert.equal(await status.getAttribute('data-status'), 'paused', 'the run paused (it had not finished)');
    const [firstJob] = trainJobs();
    const pausedAt = trainPoints(firstJob).at(-1)!.step;
    assert.ok(pausedAt >= 2 && pausedAt < 2 * stepsPerEpoch, `paused at step ${pausedAt}`);
    await page.locator(`[data-testid="run-facts"][data-step="${pausedAt}"]`).waitFor();
    assert.match((await byTestId(page, 'run-backend').textContent())!, /^backend: /, 'the trainer\'s backend report is shown');

    await byTestId(page, 'run-resume').click();
    await page.locator('[data-testid="run-status"][data-status="done"]').waitFor();
    const resumedJob = trainJobs().at(-1)!;
    assert.notEqual(resumedJob, firstJob);
    assert.equal(trainPoints(resumedJob)[0].step, pausedAt + 1, 'the steps continue from the checkpoint');

    // The chart has every step once, points of both stages and a validation point per epoch.
    const chart = page.locator(`[data-testid="loss-chart"][data-points="${2 * stepsPerEpoch}"]`);
    await chart.waitFor();
    assert.equal(await chart.getAttribute('data-stages'), '0,1');
    assert.equal(await chart.getAttribute('data-validation-points'), '2');
    assert.equal(await chart.locator('canvas').count(), 1, 'uPlot drew it');
    assert.match((await byTestId(page, 'run-rate').textContent())!, /img\/s/);
    // The samples of the last epoch: input | output | target, and the first epoch's a step back.
    const samples = page.locator('[data-testid="samples"][data-epochs="2"]');
    await samples.waitFor();
    assert.equal(await samples.getAttribute('data-epoch'), '2');
    const output = await loadedImageSize(byTestId(samples, 'sample-output').first());
    const input = await loadedImageSize(byTestId(samples, 'sample-input').first());
    assert.deepEqual([input.width, output.width], [8, 16], 'an ×2 sample of a 16 px crop');
    await loadedImageSize(byTestId(samples, 'sample-target').first());
    await app.shot('train');
    await byTestId(samples, 'samples-prev').click();
    await page.locator('[data-testid="samples"][data-epoch="1"]').waitFor();
    assert.notEqual((await loadedImageSize(byTestId(page, 'sample-output').first())).src, output.src, 'an output per epoch');

    // Export: the model joins the library, and enhances a photo.
    await byTestId(page, 'run-export').click();
    const exported = byTestId(page, 'run-exported');
    await exported.waitFor();
    const modelId = (await exported.getAttribute('data-model-id'))!;
    await byTestId(page, 'nav-models').click();
    const row = page.locator(`[data-testid="model-row"][data-id="${modelId}"]`);
    await row.waitFor();
    assert.deepEqual([await row.getAttribute('data-source'), await row.getAttribute('data-task'), await row.getAttribute('data-scale')], ['user', 'upscale', '2']);
    await byTestId(page, 'nav-train').click();
    await byTestId(page, 'run-open-enhance').click();
    await byTestId(page, 'view-enhance').waitFor();
    await byTestId(page, 'enhance-open').click();
    await browseTo(page, root, ['enhance'], 'snapshot.png');
    await byTestId(page, 'enhance-preview').waitFor();
    await byTestId(page, 'enhance-task').selectOption('upscale');
    await byTestId(page, 'enhance-scale').selectOption('2');
    await byTestId(page, 'enhance-model').selectOption(modelId);
    await byTestId(page, 'enhance-run').click();
    const enhanced = await loadedImageSize(byTestId(page, 'compare-after'));
    assert.deepEqual([enhanced.width, enhanced.height], [128, 96]);
    assert.match((await byTestId(page, 'enhance-done').textContent())!, new RegExp(modelId));
    app.assertNoPageErrors();
  });

  test('a reopened page redraws the run from its stored history; deleting the dataset leaves the photos', async () => {
    await page.goto(app.server.url);
    await byTestId(page, 'nav-train').click();
    const row = page.locator('[data-testid="run-row"][data-status="done"]');
    await row.click();
    await page.locator(`[data-testid="loss-chart"][data-points="${2 * stepsPerEpoch}"][data-validation-points="2"]`).waitFor();
    await page.locator('[data-testid="samples"][data-epochs="2"]').waitFor();

    await byTestId(page, 'nav-datasets').click();
    await byTestId(page, 'dataset-delete').click();
    assert.match((await byTestId(page, 'dataset-delete-note').textContent())!, /untouched/);
    await byTestId(page, 'dataset-delete-confirm').click();
    await byTestId(page, 'datasets-empty').filter({ hasText: 'No datasets yet' }).waitFor();
    assert.equal((await readdir(join(root, 'photos'), { recursive: true })).filter((f) => f.endsWith('.png')).length, photoCount, 'the photos are untouched');
    app.assertNoPageErrors();
  });

  test('datasets: the thumbnail grid keeps only the rows in view in the page and fetches pages of 200 as it scrolls', async () => {
    const pages: number[] = [];
    const onRequest = (r: { url(): string; postData(): string | null }) => {
      if (r.url().endsWith('/api/datasetThumbnails')) pages.push((JSON.parse(r.postData()!) as { offset: number }).offset);
    };
    page.on('request', onRequest);
    await byTestId(page, 'dataset-folder').click();
    await browseTo(page, root, ['many']);
    await byTestId(page, 'dataset-import').click();
    await page.locator(`[data-testid="dataset-import-summary"][data-count="${manyCount}"]`).waitFor();
    const grid = page.locator(`[data-testid="thumb-grid"][data-total="${manyCount}"]`);
    await grid.waitFor();
    await loadedImageSize(byTestId(grid, 'thumb').first().locator('img'));
    const rendered = async () => byTestId(grid, 'thumb').count();
    assert.ok(await rendered() < manyCount / 3, `${await rendered()} of ${manyCount} cells in the page`);
    assert.deepEqual(pages, [0]);

    await grid.evaluate((el) => el.scrollTo({ top: el.scrollHeight }));
    await loadedImageSize(grid.locator(`[data-testid="thumb"][data-index="${manyCount - 1}"] img`));
    assert.equal(await grid.locator('[data-testid="thumb"][data-index="0"]').count(), 0, 'the first rows left the page');
    assert.ok(await rendered() < manyCount / 3, `${await rendered()} of ${manyCount} cells in the page`);
    assert.equal(pages.at(-1), 400);
    assert.equal(new Set(pages).size, pages.length, `each page fetched once: ${pages.join(', ')}`);
    page.off('request', onRequest);
    app.assertNoPageErrors();
  });
});
