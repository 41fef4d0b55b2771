// `npm run bench:quality [-- --no-esrgan] [--write-manifest] [--figure docs/results.png]`: scores every
// shipped model on Set5 and Set14 through the engine's own tiled path (ONNX Runtime, CPU):
// upscale Y-PSNR/SSIM beside bicubic (and UpscalerJS ESRGAN-slim), decrappify beside the JPEG it
// gets, colorize beside greyscale with colourfulness (these two also on held-out Imagenette val photos:
// --held-out N, default 200; --self-ensemble adds the upscalers in Best quality). A table, then one JSON line.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp, { type OverlayOptions } from 'sharp';
import { colourfulness, psnrRgb, psnrY, ssimY, type RgbPixels } from '../../common/image-metrics.ts';
import { luma } from '../../common/color.ts';
import { resizeBicubic } from '../../common/resize.ts';
import type { ModelManifest, ModelManifestEntry, QualityMetric } from '../../common/model-manifest.ts';
import { loadModel, type EngineModel } from '../../electron/engine/model-session.ts';
import { chromaSink, type RawImage, rgbSink, runTiled } from '../../electron/engine/tiling.ts';
import { loadSrEvalSet, type SrEvalImage } from '../eval/evaluate-sr.ts';
import { kidAgainst } from '../eval/kid.ts';
import { escapeXml } from './svg-text.ts';
import { frozenEncoder } from '../losses/perceptual-loss.ts';
import { selectBackend } from '../backends/select-backend.ts';
import { importImageFile } from '../data/import-images.ts';
import { writeFileAtomic } from '../atomic-write.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { values } = parseArgs({
  options: {
    datasets: { type: 'string', default: join(root, '../shared/datasets') },
    models: { type: 'string', default: join(root, 'resources/models') },
    'no-esrgan': { type: 'boolean', default: false },
    'write-manifest': { type: 'boolean', default: false },
    figure: { type: 'string' },
    only: { type: 'string' },
    // Decrappify and colorize also on this many Imagenette val photos (never trained on; 0: none):
    // Set5 + Set14 are 19 photos, too few to tell two close models apart.
    'held-out': { type: 'string', default: '200' },
    // Upscalers also in the app's Best quality mode (the engine's 8-way self-ensemble, 8× the time).
    'self-ensemble': { type: 'boolean', default: false },
  },
});

interface Row { task: string; scale: number; dataset: string; psnr: number; ssim?: number; baseline: string; baselinePsnr: number; baselineSsim?: number;
  esrganPsnr?: number; esrganSsim?: number; kid?: number; baselineKid?: number; esrganKid?: number; colourfulness?: number; inputColourfulness?: number; originalColourfulness?: number }

const manifestPath = join(values.models, 'manifest.json');
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as ModelManifest;
const sets = ['Set5', 'Set14'];
const rows: Row[] = [];
const figure: { task: string; cells: { label: string; image: RgbPixels }[] }[] = [];

const u8 = (f: ArrayLike<number>, k = 255) => Uint8Array.from(f as ArrayLike<number>, (v) => Math.round(Math.min(255, Math.max(0, v * k))));
const raw = (img: RgbPixels): RawImage => ({ data: Buffer.from(Uint8Array.from(img.data as ArrayLike<number>)), widthPx: img.width, heightPx: img.height, channels: 3 });

/** Whole-image run through the engine's tiler (one tile for these sizes), as `enhance` does. */
async function enhance(model: EngineModel, input: RgbPixels, selfEnsemble = false): Promise<RgbPixels> {
  const d = model.descriptor;
  const out: RawImage = { data: Buffer.alloc(input.width * d.scale * input.height * d.scale * 3), widthPx: input.width * d.scale, heightPx: input.height * d.scale, channels: 3 };
  await runTiled(model, raw(input), d.scale, { tileSizePx: 512, selfEnsemble }, d.task === 'colorize' ? chromaSink(raw(input), out) : rgbSink(out));
  return { data: out.data, width: out.widthPx, height: out.heightPx };
}

async function loadHr(set: string): Promise<{ name: string; image: RgbPixels }[]> {
  const dir = join(values.datasets, set);
  const out = [];
  for (const name of readdirSync(dir).filter((f) => /\.png$/i.test(f)).sort()) {
    const r = await importImageFile(join(dir, name));
    if ('image' in r) out.push({ name, image: { data: r.image.data, width: r.image.width, height: r.image.height } });
  }
  return out;
}

/** Every k-th photo of Imagenette val (sorted paths), so the same `count` photos every run. */
async function loadHeldOut(count: number): Promise<{ name: string; image: RgbPixels }[]> {
  const dir = join(values.datasets, 'Imagenette160_subset/val');
  if (count <= 0 || !existsSync(dir)) return [];
  const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((f) => f.isFile()).map((f) => join(f.parentPath, f.name)).sort();
  const step = Math.max(1, Math.floor(files.length / count));
  const out = [];
  for (const path of files.filter((_, i) => i % step === 0).slice(0, count)) {
    const r = await importImageFile(path);
    if ('image' in r) out.push({ name: path, image: { data: r.image.data, width: r.image.width, height: r.image.height } });
  }
  return out;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const crop = (img: RgbPixels, x: number, y: number, side: number): RgbPixels => {
  const data = new Uint8Array(side * side * 3);
  for (let r = 0; r < side; r++) for (let c = 0; c < side * 3; c++) data[r * side * 3 + c] = (img.data as ArrayLike<number>)[((y + r) * img.width + x) * 3 + c];
  return { data, width: side, height: side };
};
const showcase = 'zebra.png';

const esrgan = values['no-esrgan'] ? undefined : await import('./esrgan-slim.ts').catch(() => undefined);
await selectBackend('wasm');
// KID with our own pretrained classifier's pooled features, as the lesson's notebooks compute FID:
// PSNR penalises sharpness by design, a distribution distance does not.
const encoder = frozenEncoder(join(root, 'resources/pretrained/encoder-imagenette-32-64-128-256.ckpt'));

for (const entry of manifest.models.filter((m) => !values.only || m.id === values.only)) {
  const model = await loadModel(join(values.models, entry.file), { providers: 'cpu', onNotice: () => {} });
  const d = model.descriptor;
  const metrics: QualityMetric[] = [];
  if (d.task === 'upscale') {
    const scale = d.scale as 2 | 4;
    const slim = esrgan ? await esrgan.loadEsrganSlim(scale) : undefined;
    for (const set of sets) {
      const images: SrEvalImage[] = await loadSrEvalSet(join(values.datasets, set), scale);
      const ours: { p: number; s: number }[] = [];
      const bic: { p: number; s: number }[] = [];
      const es: { p: number; s: number }[] = [];
      const best: { p: number; s: number }[] = [];
      const outs: Record<'ours' | 'bicubic' | 'esrgan' | 'hr', RgbPixels[]> = { ours: [], bicubic: [], esrgan: [], hr: [] };
      for (const img of images) {
        const lr = { data: u8(img.lr), width: img.lrWidth, height: img.lrHeight };
        const out = await enhance(model, lr);
        const b = { data: u8(resizeBicubic(img.lr, img.lrWidth, img.lrHeight, 3, img.hr.width, img.hr.height)), width: img.hr.width, height: img.hr.height };
        const o = { cropBorderPx: scale };
        ours.push({ p: psnrY(out, img.hr, o), s: ssimY(out, img.hr, o) });
        if (values['self-ensemble']) {
          const e = await enhance(model, lr, true);
          best.push({ p: psnrY(e, img.hr, o), s: ssimY(e, img.hr, o) });
        }
        bic.push({ p: psnrY(b, img.hr, o), s: ssimY(b, img.hr, o) });
        outs.ours.push(out);
        outs.bicubic.push(b);
        outs.hr.push(img.hr);
        if (slim) {
          const e = { data: await esrgan!.upscaleRgb(slim, scale, lr.data, lr.width, lr.height), width: img.hr.width, height: img.hr.height };
          es.push({ p: psnrY(e, img.hr, o), s: ssimY(e, img.hr, o) });
          outs.esrgan.push(e);
        }
        if (img.name === showcase && !figure.some((f) => f.task === `upscale ×${scale}`)) {
          const side = 120, x = Math.floor(img.hr.width * 0.5), y = Math.floor(img.hr.height * 0.3);
          const nearest = { data: u8(resizeNearest(lr, scale), 1), width: lr.width * scale, height: lr.height * scale };
          figure.push({ task: `upscale ×${scale}`, cells: [
            { label: 'input (nearest)', image: crop(nearest, x, y, side) }, { label: 'bicubic', image: crop(b, x, y, side) },
            { label: 'Enhance', image: crop(out, x, y, side) }, { label: 'original', image: crop(img.hr, x, y, side) }] });
        }
      }
      const kidOf = kidAgainst(encoder, outs.hr);
      const row: Row = { task: 'upscale', scale, dataset: set, psnr: mean(ours.map((r) => r.p)), ssim: mean(ours.map((r) => r.s)),
        baseline: 'bicubic', baselinePsnr: mean(bic.map((r) => r.p)), baselineSsim: mean(bic.map((r) => r.s)),
        kid: kidOf(outs.ours), baselineKid: kidOf(outs.bicubic),
        ...(es.length ? { esrganPsnr: mean(es.map((r) => r.p)), esrganSsim: mean(es.map((r) => r.s)), esrganKid: kidOf(outs.esrgan) } : {}) };
      rows.push(row);
      metrics.push({ dataset: set, psnr: round(row.psnr), ssim: round(row.ssim!, 4), baseline: 'bicubic', baselinePsnr: round(row.baselinePsnr) });
      if (best.length) {
        const dataset = `${set}, Best quality`;
        rows.push({ task: 'upscale', scale, dataset, psnr: mean(best.map((r) => r.p)), ssim: mean(best.map((r) => r.s)), baseline: 'bicubic', baselinePsnr: row.baselinePsnr, baselineSsim: row.baselineSsim });
        metrics.push({ dataset, psnr: round(mean(best.map((r) => r.p))), ssim: round(mean(best.map((r) => r.s)), 4), baseline: 'bicubic', baselinePsnr: round(row.baselinePsnr) });
      }
    }
    slim?.dispose();
  } else {
    const hr = (await Promise.all(sets.map(loadHr))).flat();
    const heldOut = await loadHeldOut(Number(values['held-out']));
    const evalSets = [{ label: 'Set5+Set14', images: hr }, ...(heldOut.length ? [{ label: `Imagenette val (${heldOut.length})`, images: heldOut }] : [])];
    if (d.task === 'decrappify') {
      for (const { label, images } of evalSets) {
        for (const quality of [10, 20, 40]) {
          const ours: number[] = [], jpeg: number[] = [], ssO: number[] = [], ssJ: number[] = [];
          for (const { name, image } of images) {
            const bytes = await sharp(image.data as Uint8Array, { raw: { width: image.width, height: image.height, channels: 3 } }).jpeg({ quality, chromaSubsampling: '4:2:0' }).toBuffer();
            const j = { data: await sharp(bytes).raw().toBuffer(), width: image.width, height: image.height };
            const out = await enhance(model, j);
            ours.push(psnrY(out, image)); jpeg.push(psnrY(j, image)); ssO.push(ssimY(out, image)); ssJ.push(ssimY(j, image));
            if (quality === 20 && name === showcase) {
              const side = 120, x = Math.floor(image.width * 0.5), y = Math.floor(image.height * 0.3);
              figure.push({ task: 'decrappify (JPEG q20)', cells: [
                { label: 'JPEG q20', image: crop(j, x, y, side) },
                { label: 'Enhance', image: crop(out, x, y, side) }, { label: 'original', image: crop(image, x, y, side) }] });
            }
          }
          const dataset = `${label} JPEG q${quality}`;
          rows.push({ task: 'decrappify', scale: 1, dataset, psnr: mean(ours), ssim: mean(ssO), baseline: `JPEG q${quality}`, baselinePsnr: mean(jpeg), baselineSsim: mean(ssJ) });
          metrics.push({ dataset, psnr: round(mean(ours)), ssim: round(mean(ssO), 4), baseline: `JPEG q${quality}`, baselinePsnr: round(mean(jpeg)) });
        }
      }
    } else {
      for (const { label, images } of evalSets) {
        const ours: number[] = [], grey: number[] = [], cOurs: number[] = [], cOrig: number[] = [];
        // A greyscale original (Set14's bridge) has nothing to colorize, and its greyscale PSNR is infinite.
        for (const { name, image } of images.filter((h) => colourfulness(h.image) > 1)) {
          const g = greyOf(image);
          const out = await enhance(model, image);
          ours.push(psnrRgb(out, image)); grey.push(psnrRgb(g, image)); cOurs.push(colourfulness(out)); cOrig.push(colourfulness(image));
          if (name === 'baboon.png') {
            const side = 120, x = Math.floor(image.width * 0.4), y = Math.floor(image.height * 0.3);
            figure.push({ task: 'colorize', cells: [
              { label: 'greyscale', image: crop(g, x, y, side) },
              { label: 'Enhance', image: crop(out, x, y, side) }, { label: 'original', image: crop(image, x, y, side) }] });
          }
        }
        const dataset = `${label} (colour originals)`;
        rows.push({ task: 'colorize', scale: 1, dataset, psnr: mean(ours), baseline: 'greyscale', baselinePsnr: mean(grey),
          colourfulness: mean(cOurs), inputColourfulness: 0, originalColourfulness: mean(cOrig) });
        metrics.push({ dataset, psnr: round(mean(ours)), baseline: 'greyscale', baselinePsnr: round(mean(grey)), colourfulness: round(mean(cOurs), 1), originalColourfulness: round(mean(cOrig), 1) });
      }
    }
  }
  await model.release();
  if (values['write-manifest']) (manifest.models.find((m) => m.id === entry.id) as ModelManifestEntry).metrics = metrics;
}

function greyOf(img: RgbPixels): RgbPixels {
  const n = img.width * img.height;
  const data = new Uint8Array(n * 3);
  const s = img.data as ArrayLike<number>;
  for (let i = 0; i < n; i++) data.fill(Math.round(luma(s[3 * i] / 255, s[3 * i + 1] / 255, s[3 * i + 2] / 255) * 255), 3 * i, 3 * i + 3);
  return { data, width: img.width, height: img.height };
}

function resizeNearest(img: RgbPixels, s: number): Float32Array {
  const w = img.width * s;
  const out = new Float32Array(w * img.height * s * 3);
  const d = img.data as ArrayLike<number>;
  for (let y = 0; y < img.height * s; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) out[(y * w + x) * 3 + c] = d[(Math.floor(y / s) * img.width + Math.floor(x / s)) * 3 + c];
  return out;
}

function round(v: number, digits = 2): number {
  return Number(v.toFixed(digits));
}

const f2 = (v: number | undefined, k = 2) => (v === undefined ? '' : v.toFixed(k));
console.log(`${'task'.padEnd(11)} ${'×'.padEnd(2)} ${'dataset'.padEnd(36)} ${'PSNR'.padStart(6)} ${'SSIM'.padStart(7)}  ${'baseline'.padEnd(10)} ${'PSNR'.padStart(6)} ${'SSIM'.padStart(7)}  ${'ESRGAN-slim'.padStart(14)}  ${'KID×1000 ours/base/esrgan'.padEnd(26)} colourfulness (ours / original)`);
for (const r of rows) {
  console.log(`${r.task.padEnd(11)} ${String(r.scale).padEnd(2)} ${r.dataset.padEnd(36)} ${f2(r.psnr).padStart(6)} ${f2(r.ssim, 4).padStart(7)}  ${r.baseline.padEnd(10)} ${f2(r.baselinePsnr).padStart(6)} ${f2(r.baselineSsim, 4).padStart(7)}  ` +
    `${(r.esrganPsnr === undefined ? '' : `${f2(r.esrganPsnr)} / ${f2(r.esrganSsim, 4)}`).padStart(14)}  ` +
    `${(r.kid === undefined ? '' : [r.kid, r.baselineKid, r.esrganKid].map((k) => (k === undefined ? '–' : (k * 1000).toFixed(2))).join(' / ')).padEnd(26)} ${r.colourfulness === undefined ? '' : `${f2(r.colourfulness, 1)} / ${f2(r.originalColourfulness, 1)}`}`);
}

if (values.figure) {
  const cell = 180, label = 22, gap = 4;
  const width = Math.max(...figure.map((f) => f.cells.length)) * (cell + gap), height = figure.length * (cell + label + gap);
  const composites: OverlayOptions[] = [];
  for (const [r, rowFig] of figure.entries()) {
    for (const [c, { label: text, image }] of rowFig.cells.entries()) {
      const top = r * (cell + label + gap), left = c * (cell + gap);
      const caption = c === 0 ? `${rowFig.task}: ${text}` : text;
      composites.push({ input: Buffer.from(`<svg width="${cell}" height="${label}"><rect width="100%" height="100%" fill="white"/><text x="3" y="16" font-family="sans-serif" font-size="13">${escapeXml(caption)}</text></svg>`), top, left });
      composites.push({ input: await sharp(Buffer.from(image.data as Uint8Array), { raw: { width: image.width, height: image.height, channels: 3 } }).resize(cell, cell, { kernel: 'nearest' }).png().toBuffer(), top: top + label, left });
    }
  }
  await sharp({ create: { width, height, channels: 3, background: 'white' } }).composite(composites).png().toFile(values.figure);
  console.log(`figure: ${values.figure}`);
}
if (values['write-manifest']) {
  writeFileAtomic(manifestPath, [Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`)]);
  console.log(`metrics written to ${manifestPath}`);
}
console.log(JSON.stringify({ bench: 'quality', rows: rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'number' ? round(v, k.toLowerCase().includes('kid') ? 6 : 4) : v]))) }));
