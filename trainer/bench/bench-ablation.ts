// npm run bench:ablation [-- --quick] [--steps N] [--classifier FILE]
//                        [-- --set budget --minutes M]
// The lesson's ablation for ×2 super-resolution on one data set and one step budget:
// (a) MSE, (b) + perceptual loss, (c) + pretrained encoder frozen → unfrozen, (d) + cross connections,
// plus the two ways to upscale ('low-res' pixel shuffle vs the lesson's 'pre-upsampled' input) on MSE.
// --set budget compares the recipe choices of the shipped ×2 (widths 16-32-64-128, 128-px crops) at
// equal *wall time* instead: L1, MSE, progressive crops (64 px, then 128 px) and L1 + perceptual; each
// variant first times a few steps of each crop size and then gets the steps that fill --minutes.
// Evaluated on Set5 and Set14 (Y-PSNR / SSIM, border = scale) next to bicubic, with KID on Set14 from
// our pretrained classifier's pooled features (lower = closer to the originals' distribution); saves
// side-by-side crops to docs/ablation-x2.png (--set budget: docs/ablation-x2-budget.png).
// Needs ../shared/datasets (T91 + BSDS200 to train, Set5/Set14 to test).
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { selectBackend } from '../backends/select-backend.ts';
import { importToStore, openImageStore } from '../data/image-store.ts';
import { pairSource } from '../data/pair-source.ts';
import { loadSrEvalSet, type RgbImage, scoreSr, type SrEvalImage, type SrScores, upscaleBicubic, upscaleWithModel } from '../eval/evaluate-sr.ts';
import type { Stage } from '../fit/learner.ts';
import { trainRun } from '../fit/train-run.ts';
import type { LossSpec } from '../losses/losses.ts';
import { buildModel } from '../models/build-model.ts';
import { TfModel } from '../models/tf-model.ts';
import type { UNetOptions } from '../models/unet.ts';
import { copyEncoder } from '../pretrain/pretrain-classifier.ts';
import { kidAgainst } from '../eval/kid.ts';
import { escapeXml } from './svg-text.ts';
import { frozenEncoder } from '../losses/perceptual-loss.ts';

const root = resolve(import.meta.dirname, '../..');
const datasets = resolve(root, '../shared/datasets');
const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    steps: { type: 'string' },
    batch: { type: 'string', default: '8' },
    crop: { type: 'string', default: '96' },
    classifier: { type: 'string', default: join(root, 'resources/pretrained/encoder-imagenette-32-64-128-256.ckpt') },
    only: { type: 'string' },
    set: { type: 'string', default: 'lesson' },
    minutes: { type: 'string', default: '10' },
  },
});
if (values.set !== 'lesson' && values.set !== 'budget') {
  console.error(`--set must be lesson or budget, not '${values.set}'`);
  process.exit(2);
}
const budget = values.set === 'budget';
const budgetSeconds = Number(values.minutes) * 60;
if (!existsSync(join(datasets, 'Set5'))) {
  console.error(`bench:ablation needs ${datasets} (Set5, Set14, T91, BSDS200)`);
  process.exit(2);
}
if (!existsSync(values.classifier)) {
  console.error(`bench:ablation needs a pretrained classifier at ${values.classifier} (enhance pretrain …)`);
  process.exit(2);
}
const scale = 2;
const steps = Number(values.steps ?? (values.quick ? 6 : 600));
const batchSize = Number(values.batch);
const cropPx = budget ? 128 : Number(values.crop);
const widths = budget ? [16, 32, 64, 128] : [32, 64, 128, 256];
const sel = await selectBackend('wasm');
console.error(sel.line);

const storeDir = join(root, '.bench/sr-train-store');
const sources = ['T91', 'BSDS200'].flatMap((d) => readdirSync(join(datasets, d)).sort().map((f) => ({ path: join(datasets, d, f) })));
await importToStore(storeDir, sources);
const store = openImageStore(storeDir);
const sets = { set5: await loadSrEvalSet(join(datasets, 'Set5'), scale), set14: await loadSrEvalSet(join(datasets, 'Set14'), scale) };

/** A variant trains in phases, one per crop size, each its own one-cycle; `share` is its part of the budget. */
interface Phase { cropPx: number; share: number }
interface Variant { name: string; options: UNetOptions; loss: LossSpec; stages: Stage[]; encoder: boolean; phases?: Phase[] }
const lr = budget ? 2e-3 : 1e-3;
const perceptual: LossSpec = { kind: 'perceptual', classifierPath: values.classifier, lambda: 0.1 };
const lowRes: UNetOptions = { task: 'upscale', scale, widths };
// Frozen for a quarter of the budget, then everything at a lower peak rate (gradual unfreezing).
const twoStage: Stage[] = [{ epochs: 1, lr, freeze: ['encoder'] }, { epochs: 3, lr: lr / 3 }];
const oneStage: Stage[] = [{ epochs: 4, lr }];
const mse: LossSpec = { kind: 'mse' };
const allVariants: Variant[] = [
  { name: 'a: MSE', options: lowRes, loss: mse, stages: oneStage, encoder: false },
  { name: 'b: + perceptual', options: lowRes, loss: perceptual, stages: oneStage, encoder: false },
  { name: 'c: + pretrained encoder', options: lowRes, loss: perceptual, stages: twoStage, encoder: true },
  { name: 'd: + cross connections', options: { ...lowRes, crossConnections: true }, loss: perceptual, stages: twoStage, encoder: true },
  { name: 'MSE, pre-upsampled input', options: { ...lowRes, resolution: 'pre-upsampled' }, loss: mse, stages: oneStage, encoder: false },
];
const l1: LossSpec = { kind: 'l1' };
const budgetVariants: Variant[] = [
  { name: 'L1 (shipped)', options: lowRes, loss: l1, stages: oneStage, encoder: false },
  { name: 'MSE', options: lowRes, loss: mse, stages: oneStage, encoder: false },
  { name: 'L1, crops 64 then 128', options: lowRes, loss: l1, stages: oneStage, encoder: false, phases: [{ cropPx: 64, share: 0.5 }, { cropPx: 128, share: 0.5 }] },
  { name: 'MSE + perceptual', options: lowRes, loss: perceptual, stages: oneStage, encoder: false },
];
const variants = (budget ? budgetVariants : allVariants).filter((v) => !values.only || v.name.startsWith(values.only));

interface Row { variant: string; set5: SrScores; set14: SrScores; kid: number; steps: number; trainSeconds: number; imgPerSec: number }
const rows: Row[] = [];
const crops: { name: string; image: RgbImage }[] = [];
const showcase = (set: SrEvalImage[]) => set.find((i) => i.name.startsWith('zebra')) ?? set[0];

const bicubic = { set5: await scoreSr(sets.set5, scale, (i) => upscaleBicubic(i, scale)), set14: await scoreSr(sets.set14, scale, (i) => upscaleBicubic(i, scale)) };
crops.push({ name: 'bicubic', image: await upscaleBicubic(showcase(sets.set14), scale) });

const encoder = frozenEncoder(values.classifier);
const kidOf = kidAgainst(encoder, sets.set14.map((i) => i.hr));
const bicubicSet14 = await Promise.all(sets.set14.map((i) => upscaleBicubic(i, scale)));
const bicubicKid = kidOf(bicubicSet14);

/** Seconds per step of a variant at a crop size, timed on a second epoch of 5 steps (the first warms up). */
async function secondsPerStep(v: Variant, crop: number): Promise<number> {
  const data = pairSource({ store, task: 'upscale', scale, resolution: v.options.resolution, batchSize, cropPx: crop, seed: 2, batchesPerEpoch: 5, validationImages: 0 });
  const r = await trainRun({ spec: { kind: 'unet', options: v.options }, loss: v.loss, data, stages: [{ epochs: 2, lr }], seed: 2, backend: sel.backend, workers: 2 });
  return r.history[1].seconds / 5;
}

for (const v of variants) {
  const spec = { kind: 'unet' as const, options: v.options };
  const phases = v.phases ?? [{ cropPx, share: 1 }];
  const plan: { cropPx: number; steps: number }[] = [];
  for (const ph of phases) plan.push({ cropPx: ph.cropPx, steps: budget ? Math.max(4, Math.floor((budgetSeconds * ph.share) / (await secondsPerStep(v, ph.cropPx)))) : steps });
  console.error(`${v.name}: ${plan.map((p) => `${p.steps} steps of ${p.cropPx}-px crops`).join(', then ')}`);
  const started = performance.now();
  let carried: Map<string, Float32Array> | undefined = v.encoder ? copyEncoder(values.classifier, widths) : undefined;
  let r: Awaited<ReturnType<typeof trainRun>> | undefined;
  let imageSeconds = 0, images = 0;
  for (const p of plan) {
    const data = pairSource({ store, task: 'upscale', scale, resolution: v.options.resolution, batchSize, cropPx: p.cropPx, seed: 1, batchesPerEpoch: Math.ceil(p.steps / 4), validationImages: 0 });
    r = await trainRun({
      spec, loss: v.loss, data, stages: v.stages, seed: 1, backend: sel.backend, workers: 2, initialWeights: carried,
      onEvent: (e) => {
        if (e.kind === 'epoch') console.error(`${v.name}: ${p.cropPx} px epoch ${e.record.epoch}/${e.epochs} loss ${e.record.trainLoss.toFixed(5)} ${e.record.imgPerSec.toFixed(1)} img/s`);
      },
    });
    carried = r.layout.toMap(r.weights);
    for (const h of r.history) {
      imageSeconds += h.seconds;
      images += h.imgPerSec * h.seconds;
    }
  }
  const trainSeconds = (performance.now() - started) / 1000;
  const model = new TfModel(buildModel(spec));
  model.writeWeights(carried!);
  const outs14: RgbImage[] = [];
  rows.push({
    variant: v.name,
    set5: await scoreSr(sets.set5, scale, (i) => upscaleWithModel(model, i, scale)),
    set14: await scoreSr(sets.set14, scale, async (i) => {
      const out = await upscaleWithModel(model, i, scale);
      outs14.push(out);
      return out;
    }),
    kid: kidOf(outs14),
    steps: plan.reduce((a, p) => a + p.steps, 0),
    trainSeconds,
    imgPerSec: images / imageSeconds,
  });
  crops.push({ name: v.name, image: await upscaleWithModel(model, showcase(sets.set14), scale) });
  model.dispose();
}
store.close();
crops.push({ name: 'original', image: showcase(sets.set14).hr });

// Side by side: the same 128×128 region of each result, labelled, nearest-enlarged 2× to show pixels.
const cropSide = 128;
const cell = cropSide * 2;
const src = showcase(sets.set14).hr;
const left = Math.max(0, Math.floor(src.width * 0.55) - cropSide / 2);
const top = Math.max(0, Math.floor(src.height * 0.45) - cropSide / 2);
const tiles = await Promise.all(crops.map(async ({ name, image }) => {
  const tile = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .extract({ left, top, width: cropSide, height: cropSide }).resize(cell, cell, { kernel: 'nearest' }).png().toBuffer();
  const label = Buffer.from(`<svg width="${cell}" height="24"><rect width="100%" height="100%" fill="white"/><text x="4" y="17" font-family="sans-serif" font-size="14">${escapeXml(name)}</text></svg>`);
  return sharp({ create: { width: cell, height: cell + 24, channels: 3, background: 'white' } })
    .composite([{ input: label, top: 0, left: 0 }, { input: tile, top: 24, left: 0 }]).png().toBuffer();
}));
mkdirSync(join(root, 'docs'), { recursive: true });
const png = join(root, budget ? 'docs/ablation-x2-budget.png' : 'docs/ablation-x2.png');
await sharp({ create: { width: cell * tiles.length, height: cell + 24, channels: 3, background: 'white' } })
  .composite(tiles.map((input, i) => ({ input, top: 0, left: i * cell }))).png().toFile(png);

const fmt = (s: SrScores) => `${s.psnr.toFixed(2)} / ${s.ssim.toFixed(4)}`;
console.log(`\n×${scale}, widths ${widths.join('-')}, ${budget ? `${values.minutes} minutes of training each` : `${steps} steps`} of ${batchSize} crops from T91 + BSDS200 (${store.count} images); Y channel, border ${scale}; KID×1000 on Set14`);
console.log(`${'variant'.padEnd(28)} ${'Set5 PSNR / SSIM'.padEnd(18)} ${'Set14 PSNR / SSIM'.padEnd(18)} KID×1000  steps  train s  img/s`);
console.log(`${'bicubic'.padEnd(28)} ${fmt(bicubic.set5).padEnd(18)} ${fmt(bicubic.set14).padEnd(18)} ${(bicubicKid * 1000).toFixed(2).padStart(8)}`);
for (const r of rows) {
  console.log(`${r.variant.padEnd(28)} ${fmt(r.set5).padEnd(18)} ${fmt(r.set14).padEnd(18)} ${(r.kid * 1000).toFixed(2).padStart(8)} ${String(r.steps).padStart(6)} ${r.trainSeconds.toFixed(0).padStart(8)} ${r.imgPerSec.toFixed(1).padStart(6)}`);
}
console.log(`side by side: ${png}`);
const score = (s: SrScores) => ({ psnr: Number(s.psnr.toFixed(3)), ssim: Number(s.ssim.toFixed(4)) });
console.log(JSON.stringify({ bench: 'ablation', set: values.set, scale, steps: budget ? undefined : steps, minutes: budget ? Number(values.minutes) : undefined, batch: batchSize, cropPx, rows: [
  { variant: 'bicubic', set5: score(bicubic.set5), set14: score(bicubic.set14), kid: Number(bicubicKid.toFixed(6)) },
  ...rows.map((r) => ({ variant: r.variant, set5: score(r.set5), set14: score(r.set14), kid: Number(r.kid.toFixed(6)), steps: r.steps, trainSeconds: Math.round(r.trainSeconds), imgPerSec: Number(r.imgPerSec.toFixed(2)) })),
] }));
