// The renderer end to end in Chromium against `enhance serve` (browser mode): real Vite build,
// real server, real ONNX jobs in worker threads, real files. With ENHANCE_SCREENSHOTS=1 it also
// writes docs/screenshots/{enhance,batch,models}.png at 1280×800.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import sharp from 'sharp';
import type { ModelManifest } from '../common/model-manifest.ts';
import { createApiContext } from '../electron/api/create-context.ts';
import { repoRoot } from './helpers/e2e-build.ts';
import { stripOnnxMetadata } from './helpers/e2e-onnx.ts';
import { browseTo, byTestId, computedTransform, loadedImageSize, matrixScale, sliderValue } from './helpers/e2e-page.ts';
import { type AppSession, openApp } from './helpers/e2e-session.ts';

let dir: string;
let root: string;
let app: AppSession;
let page: Page;

/** A synthetic "photo": sky, sun, hills and a sign, so the slider and the screenshots show something. */
async function makePhoto(path: string, widthPx: number, heightPx: number, hue = 210): Promise<void> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${widthPx}" height="${heightPx}" viewBox="0 0 300 200">
    <defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="hsl(${hue},60%,35%)"/><stop offset="1" stop-color="hsl(${hue + 30},70%,75%)"/></linearGradient></defs>
    <rect width="300" height="200" fill="url(#sky)"/>
    <circle cx="225" cy="55" r="22" fill="#ffd27a"/>
    <path d="M0 140 Q60 95 120 135 T300 120 V200 H0 Z" fill="#2f5d3a"/>
    <path d="M0 165 Q90 135 170 160 T300 155 V200 H0 Z" fill="#1f3f28"/>
    <rect x="40" y="118" width="70" height="26" rx="3" fill="#f4efe6"/>
    <text x="75" y="136" font-family="sans-serif" font-size="13" text-anchor="middle" fill="#333">ENHANCE</text>
  </svg>`;
  const image = sharp(Buffer.from(svg));
  await (path.endsWith('.png') ? image.png() : path.endsWith('.webp') ? image.webp() : image.jpeg({ quality: 70 })).toFile(path);
}

/** Waits for the batch's summary; a job that failed as a whole fails the test with its message. */
async function finishedBatch(summary: Locator): Promise<void> {
  const failed = byTestId(page, 'batch-failed');
  await summary.or(failed).first().waitFor();
  if (await failed.isVisible()) assert.fail(`the batch failed: ${await failed.textContent()}`);
}

/** Photos in a folder; the batch's own bookkeeping (dot files) aside. */
const outputsIn = async (folder: string) => (await readdir(folder)).filter((f) => !f.startsWith('.')).sort();

const sha256 = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');

describe('the app in Chromium (browser mode)', () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'enhance-e2e-'));
    root = join(dir, 'root');
    for (const d of ['photos', 'batch', 'batch-out', 'big', 'big-out', 'models']) mkdirSync(join(root, d), { recursive: true });
    await makePhoto(join(root, 'photos', 'photo.png'), 300, 200);
    await makePhoto(join(root, 'batch', 'a.jpg'), 96, 64, 20);
    await makePhoto(join(root, 'batch', 'b.png'), 80, 60, 120);
    await makePhoto(join(root, 'batch', 'c.webp'), 64, 64, 300);
    await writeFile(join(root, 'batch', 'broken.jpg'), randomBytes(3000));
    mkdirSync(join(dir, 'elsewhere'));
    await makePhoto(join(dir, 'elsewhere', 'snapshot.jpg'), 160, 120, 270);
    for (let i = 0; i < 8; i++) await makePhoto(join(root, 'big', `big-${i}.jpg`), 480, 320, 40 * i);
    const ctx = createApiContext({ mode: 'browser', dataDir: join(dir, 'data'), roots: [root], providers: 'cpu', threads: 1 });
    app = await openApp(ctx);
    page = app.page;
  });

  after(async () => {
    await app?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('enhance: open a photo, upscale ×2, compare with the slider, zoom and pan in step, save as PNG; Best quality differs a little', async () => {
    const input = join(root, 'photos', 'photo.png');
    const inputHash = await sha256(input);
    await byTestId(page, 'nav-enhance').click();
    await byTestId(page, 'enhance-open').click();
    await browseTo(page, root, ['photos'], 'photo.png');
    await byTestId(page, 'enhance-preview').waitFor();
    assert.equal(new URL(page.url()).search, '', 'the token is taken out of the address bar');
    await byTestId(page, 'enhance-task').selectOption('upscale');
    await byTestId(page, 'enhance-scale').selectOption('2');
    await byTestId(page, 'enhance-run').click();

    const before = await loadedImageSize(byTestId(page, 'compare-before'));
    const afterImage = await loadedImageSize(byTestId(page, 'compare-after'));
    assert.deepEqual([before.width, before.height], [300, 200]);
    assert.deepEqual([afterImage.width, afterImage.height], [600, 400]);
    assert.equal(await byTestId(page, 'compare-sizes').textContent(), '300×200 → 600×400');

    // The divider follows a drag that starts on it.
    const slider = byTestId(page, 'compare-slider');
    const box = (await slider.boundingBox())!;
    const split = await sliderValue(page);
    const dividerX = box.x + (box.width * split) / 100;
    const midY = box.y + box.height / 2;
    await page.mouse.move(dividerX, midY);
    await page.mouse.down();
    await page.mouse.move(dividerX - 200, midY, { steps: 8 });
    await page.mouse.up();
    const moved = await sliderValue(page);
    assert.ok(Math.abs(moved - (split - (200 / box.width) * 100)) < 2, `split ${split} → ${moved} after a 200 px drag on ${box.width} px`);

    // The wheel zooms both layers with one transform.
    const beforeImg = byTestId(page, 'compare-before');
    const afterImg = byTestId(page, 'compare-after');
    const fitted = await computedTransform(afterImg);
    assert.equal(await computedTransform(beforeImg), fitted);
    await page.mouse.move(box.x + box.width * 0.7, midY);
    await page.mouse.wheel(0, -400);
    await page.waitForFunction(([sel, was]) => getComputedStyle(document.querySelector(sel)!).transform !== was, ['[data-testid="compare-after"]', fitted] as const);
    const zoomed = await computedTransform(afterImg);
    assert.ok(matrixScale(zoomed) > matrixScale(fitted), `zoomed in: ${fitted} → ${zoomed}`);
    assert.equal(await computedTransform(beforeImg), zoomed, 'both layers carry the same transform');

    // A drag away from the divider pans both, and leaves the split where it was.
    await page.mouse.move(box.x + box.width * 0.75, midY);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.75 + 60, midY + 40, { steps: 6 });
    await page.mouse.up();
    await page.waitForFunction(([sel, was]) => getComputedStyle(document.querySelector(sel)!).transform !== was, ['[data-testid="compare-after"]', zoomed] as const);
    assert.equal(await sliderValue(page), moved, 'panning does not move the divider');
    const panned = await computedTransform(afterImg);
    assert.equal(await computedTransform(beforeImg), panned);
    assert.equal(matrixScale(panned), matrixScale(zoomed));

    // Keys: 1 is one output pixel per CSS pixel, 0 fits again.
    await byTestId(page, 'compare-viewport').focus();
    await page.keyboard.press('1');
    await byTestId(page, 'compare-zoom').filter({ hasText: /^100%$/ }).waitFor();
    assert.equal(matrixScale(await computedTransform(beforeImg)), 1);
    await page.keyboard.press('0');
    await page.waitForFunction(([sel, was]) => getComputedStyle(document.querySelector(sel)!).transform === was, ['[data-testid="compare-after"]', fitted] as const);

    // Save as PNG beside the input: a new file, the input untouched; a second save asks before overwriting.
    await byTestId(page, 'save-format').selectOption('png');
    assert.equal(await byTestId(page, 'save-name').inputValue(), 'photo-enhanced.png');
    await byTestId(page, 'save-button').click();
    await byTestId(page, 'save-done').waitFor();
    const output = join(root, 'photos', 'photo-enhanced.png');
    const meta = await sharp(output).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 600, 400]);
    assert.equal(await sha256(input), inputHash, 'the input is byte-identical');
    await byTestId(page, 'save-button').click();
    await byTestId(page, 'save-error').waitFor();
    assert.equal(await byTestId(page, 'save-error').getAttribute('data-code'), 'output-collision');
    await byTestId(page, 'save-overwrite').click();
    await byTestId(page, 'save-done').waitFor();
    assert.equal(await sha256(input), inputHash);

    // Best quality (the engine's self-ensemble) is a second, slower run: the same size, slightly different pixels.
    const fastSrc = await byTestId(page, 'compare-after').getAttribute('src');
    await byTestId(page, 'enhance-quality').selectOption('true');
    await byTestId(page, 'enhance-run').click();
    await page.waitForFunction(([sel, was]) => document.querySelector(sel)?.getAttribute('src') !== was, ['[data-testid="compare-after"]', fastSrc] as const);
    await byTestId(page, 'save-name').fill('photo-best.png');
    await byTestId(page, 'save-button').click();
    await byTestId(page, 'save-done').waitFor();
    const [fast, best] = await Promise.all([output, join(root, 'photos', 'photo-best.png')].map((p) => sharp(p).raw().toBuffer({ resolveWithObject: true })));
    assert.deepEqual([best.info.width, best.info.height], [600, 400]);
    let diff = 0;
    for (let i = 0; i < fast.data.length; i++) diff += Math.abs(fast.data[i] - best.data[i]);
    diff /= fast.data.length;
    assert.ok(diff > 0.05 && diff < 3, `Best differs from Fast by ${diff.toFixed(3)} per sample on average`);
    await byTestId(page, 'enhance-quality').selectOption('false');
    await app.shot('enhance');
    app.assertNoPageErrors();
  });

  test('batch: a corrupt file is listed with its reason, the good photos are enhanced', async () => {
    await byTestId(page, 'nav-batch').click();
    await byTestId(page, 'batch-input').click();
    await browseTo(page, root, ['batch']);
    await byTestId(page, 'batch-output').click();
    await browseTo(page, root, ['batch-out']);
    await byTestId(page, 'batch-task').selectOption('upscale');
    await byTestId(page, 'batch-start').click();
    const summary = byTestId(page, 'batch-summary');
    await finishedBatch(summary);
    assert.deepEqual(
      [await summary.getAttribute('data-enhanced'), await summary.getAttribute('data-failed'), await summary.getAttribute('data-cancelled')],
      ['3', '1', 'false'],
    );
    const failed = page.locator('[data-testid="file-row"][data-status="failed"]');
    assert.equal(await failed.count(), 1);
    assert.match((await failed.getAttribute('data-input'))!, /broken\.jpg$/);
    assert.ok(((await byTestId(failed, 'file-error').textContent()) ?? '').length > 10, 'the reason is shown');
    assert.deepEqual(await outputsIn(join(root, 'batch-out')), ['a.jpg', 'b.png', 'c.webp']);
    await app.shot('batch');
    app.assertNoPageErrors();
  });

  test('batch: cancel leaves no partial files; starting again finishes the rest', async () => {
    await byTestId(page, 'batch-input').click();
    await browseTo(page, root, ['big']);
    await byTestId(page, 'batch-output').click();
    await browseTo(page, root, ['big-out']);
    await byTestId(page, 'batch-start').click();
    await page.locator(`[data-testid="file-row"][data-status="done"][data-input^="${join(root, 'big')}"]`).first().waitFor();
    await byTestId(page, 'batch-cancel').click();
    await finishedBatch(page.locator('[data-testid="batch-summary"][data-cancelled="true"]'));
    assert.deepEqual((await readdir(join(root, 'big-out'))).filter((f) => f.endsWith('.enhance-tmp')), [], 'no temp files');
    const left = await outputsIn(join(root, 'big-out'));
    assert.ok(left.length >= 1 && left.length < 8, `${left.length} of 8 outputs after the cancel`);

    await byTestId(page, 'batch-start').click();
    const done = page.locator('[data-testid="batch-summary"][data-cancelled="false"]');
    await finishedBatch(done);
    assert.equal(Number(await done.getAttribute('data-skipped')), left.length, 'the finished ones are skipped');
    assert.equal(Number(await done.getAttribute('data-enhanced')), 8 - left.length);
    assert.equal((await outputsIn(join(root, 'big-out'))).length, 8);
    app.assertNoPageErrors();
  });

  test('models: a foreign .onnx is imported with probed assumptions, and enhances a photo', async () => {
    const shipped = await readFile(join(repoRoot, 'resources', 'models', 'upscale-x2.onnx'));
    await writeFile(join(root, 'models', 'foreign-x2.onnx'), stripOnnxMetadata(shipped));
    await byTestId(page, 'nav-models').click();
    await byTestId(page, 'model-import').click();
    await browseTo(page, root, ['models'], 'foreign-x2.onnx');
    await byTestId(page, 'model-imported').waitFor();
    const row = page.locator('[data-testid="model-row"][data-name="foreign-x2"]');
    assert.equal(await row.getAttribute('data-source'), 'user');
    assert.deepEqual([await row.getAttribute('data-task'), await row.getAttribute('data-scale')], ['upscale', '2'], 'probed as an ×2 upscaler');
    assert.match((await byTestId(row, 'model-assumptions').textContent())!, /assumed/);
    const modelId = (await row.getAttribute('data-id'))!;
    // Shipped models show their measured scores from the manifest; colorize's include colourfulness beside the originals'.
    const manifest = JSON.parse(await readFile(join(repoRoot, 'resources', 'models', 'manifest.json'), 'utf8')) as ModelManifest;
    const colour = manifest.models.find((m) => m.id === 'colorize')!.metrics![0];
    const colorizeRow = page.locator('[data-testid="model-row"][data-id="colorize"]');
    assert.match((await colorizeRow.textContent())!,
      new RegExp(`colourfulness ${colour.colourfulness!.toFixed(1)} \\(greyscale 0, originals ${colour.originalColourfulness!.toFixed(1)}\\)`));
    await app.shot('models');

    // On a photo uploaded from outside the shared folders (the page's file input).
    await byTestId(page, 'nav-enhance').click();
    await byTestId(page, 'enhance-upload').setInputFiles(join(dir, 'elsewhere', 'snapshot.jpg'));
    await byTestId(page, 'enhance-preview').filter({ hasText: 'snapshot.jpg · 160×120' }).waitFor();
    await byTestId(page, 'enhance-task').selectOption('upscale');
    await byTestId(page, 'enhance-scale').selectOption('2');
    await byTestId(page, 'enhance-model').selectOption(modelId);
    await byTestId(page, 'enhance-run').click();
    const out = await loadedImageSize(byTestId(page, 'compare-after'));
    assert.deepEqual([out.width, out.height], [320, 240]);
    assert.match((await byTestId(page, 'enhance-done').textContent())!, new RegExp(modelId));
    // Uploads are read-only: saving defaults to a shared folder.
    assert.equal(await byTestId(page, 'save-folder-value').textContent(), root);

    // Only user models can be renamed and deleted.
    await byTestId(page, 'nav-models').click();
    assert.equal(await page.locator('[data-testid="model-row"][data-source="shipped"] [data-testid="model-rename"]').count(), 0);
    await byTestId(row, 'model-rename').click();
    await byTestId(page, 'model-rename-input').fill('Foreign ×2');
    await byTestId(page, 'model-rename-save').click();
    const renamed = page.locator(`[data-testid="model-row"][data-id="${modelId}"][data-name="Foreign ×2"]`);
    await renamed.waitFor();
    await byTestId(renamed, 'model-delete').click();
    await byTestId(renamed, 'model-delete-confirm').click();
    await renamed.waitFor({ state: 'detached' });
    app.assertNoPageErrors();
  });

  test('requests without the token are refused with 401', async () => {
    const origin = new URL(app.server.url).origin;
    const photo = encodeURIComponent(join(root, 'photos', 'photo.png'));
    for (const [path, init] of [
      ['/', undefined],
      ['/api/appInfo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }],
      ['/api/events', undefined],
      [`/files?path=${photo}`, undefined],
      ['/?token=not-the-token', undefined],
    ] as const) {
      const response = await fetch(origin + path, init);
      assert.equal(response.status, 401, path);
      await response.body?.cancel();
    }
  });
});
