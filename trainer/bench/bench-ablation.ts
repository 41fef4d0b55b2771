// npm run bench:ablation [-- --quick] [--steps N] [--classifier FILE]
// The lesson's ablation for ×2 super-resolution on one data set and one step budget:
// (a) MSE, (b) + perceptual loss, (c) + pretrained encoder frozen → unfrozen, (d) + cross connections,
// plus the two ways to upscale ('low-res' pixel shuffle vs the lesson's 'pre-upsampled' input) on MSE.
// Evaluated on Set5 and Set14 (Y-PSNR / SSIM, border = scale) next to bicubic; saves side-by-side
// crops to docs/ablation-x2.png. Needs ../shared/datasets (T91 + BSDS200 to train, Set5/Set14 to test).
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
  },
});
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
const cropPx = Number(values.crop);
const widths = [32, 64, 128, 256];
const sel = await selectBackend('wasm');
console.error(sel.line);

const storeDir = join(root, '.bench/sr-train-store');
const sources = ['T91', 'BSDS200'].flatMap((d) => readdirSync(join(datasets, d)).sort().map((f) => ({ path: join(datasets, d, f) })));
await importToStore(storeDir, sources);
const store = openImageStore(storeDir);
const sets = { set5: await loadSrEvalSet(join(datasets, 'Set5'), scale), set14: await loadSrEvalSet(join(datasets, 'Set14'), scale) };

interface Variant { name: string; options: UNetOptions; loss: LossSpec; stages: Stage[]; encoder: boolean }
const lr = 1e-3;
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
const variants = allVariants.filter((v) => !values.only || v.name.startsWith(values.only));

interface Row { variant: string; set5: SrScores; set14: SrScores; trainSeconds: number; imgPerSec: number }
const rows: Row[] = [];
const crops: { name: string; image: RgbImage }[] = [];
const showcase = (set: SrEvalImage[]) => set.find((i) => i.name.startsWith('zebra')) ?? set[0];

const bicubic = { set5: await scoreSr(sets.set5, scale, (i) => upscaleBicubic(i, scale)), set14: await scoreSr(sets.set14, scale, (i) => upscaleBicubic(i, scale)) };
crops.push({ name: 'bicubic', image: await upscaleBicubic(showcase(sets.set14), scale) });

for (const v of variants) {
  const spec = { kind: 'unet' as const, options: v.options };
  const data = pairSource({ store, task: 'upscale', scale, resolution: v.options.resolution, batchSize, cropPx, seed: 1, batchesPerEpoch: Math.ceil(steps / 4), validationImages: 0 });
  const started = performance.now();
  const r = await trainRun({
    spec, loss: v.loss, data, stages: v.stages, seed: 1, backend: sel.backend, workers: 2,
    initialWeights: v.encoder ? copyEncoder(values.classifier, widths) : undefined,
    onEvent: (e) => {
      if (e.kind === 'epoch') console.error(`${v.name}: epoch ${e.record.epoch}/${e.epochs} loss ${e.record.trainLoss.toFixed(5)} ${e.record.imgPerSec.toFixed(1)} img/s`);
    },
  });
  const trainSeconds = (performance.now() - started) / 1000;
  const model = new TfModel(buildModel(spec));
  model.writeWeights(r.layout.toMap(r.weights));
  rows.push({
    variant: v.name,
    set5: await scoreSr(sets.set5, scale, (i) => upscaleWithModel(model, i, scale)),
    set14: await scoreSr(sets.set14, scale, (i) => upscaleWithModel(model, i, scale)),
    trainSeconds,
    imgPerSec: r.history.reduce((a, h) => a + h.imgPerSec * h.seconds, 0) / r.history.reduce((a, h) => a + h.seconds, 0),
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
  const label = Buffer.from(`<svg width="${cell}" height="24"><rect width="100%" height="100%" fill="white"/><text x="4" y="17" font-family="sans-serif" font-size="14">${name.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</text></svg>`);
  return sharp({ create: { width: cell, height: cell + 24, channels: 3, background: 'white' } })
    .composite([{ input: label, top: 0, left: 0 }, { input: tile, top: 24, left: 0 }]).png().toBuffer();
}));
mkdirSync(join(root, 'docs'), { recursive: true });
const png = join(root, 'docs/ablation-x2.png');
await sharp({ create: { width: cell * tiles.length, height: cell + 24, channels: 3, background: 'white' } })
  .composite(tiles.map((input, i) => ({ input, top: 0, left: i * cell }))).png().toFile(png);

const fmt = (s: SrScores) => `${s.psnr.toFixed(2)} / ${s.ssim.toFixed(4)}`;
console.log(`\n×${scale}, ${steps} steps of ${batchSize} crops of ${cropPx}px from T91 + BSDS200 (${store.count} images); Y channel, border ${scale}`);
console.log(`${'variant'.padEnd(28)} ${'Set5 PSNR / SSIM'.padEnd(18)} ${'Set14 PSNR / SSIM'.padEnd(18)} train s  img/s`);
console.log(`${'bicubic'.padEnd(28)} ${fmt(bicubic.set5).padEnd(18)} ${fmt(bicubic.set14).padEnd(18)}`);
for (const r of rows) {
  console.log(`${r.variant.padEnd(28)} ${fmt(r.set5).padEnd(18)} ${fmt(r.set14).padEnd(18)} ${r.trainSeconds.toFixed(0).padStart(7)} ${r.imgPerSec.toFixed(1).padStart(6)}`);
}
console.log(`side by side: ${png}`);
const score = (s: SrScores) => ({ psnr: Number(s.psnr.toFixed(3)), ssim: Number(s.ssim.toFixed(4)) });
console.log(JSON.stringify({ bench: 'ablation', scale, steps, batch: batchSize, cropPx, rows: [
  { variant: 'bicubic', set5: score(bicubic.set5), set14: score(bicubic.set14) },
  ...rows.map((r) => ({ variant: r.variant, set5: score(r.set5), set14: score(r.set14), trainSeconds: Math.round(r.trainSeconds), imgPerSec: Number(r.imgPerSec.toFixed(2)) })),
] }));
