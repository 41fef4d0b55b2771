// `npx tsx trainer/bench/bench-finetune.ts [--class WNID] [--epochs N] [--runs DIR]`: what fine-tuning
// a shipped default on a user's own photos buys. One Imagenette class (never in the SR defaults'
// training data) is split into photos to fine-tune on and held-back photos; the shipped ×2 model
// is fine-tuned with the same library job the app and `enhance train --base` use, and both are
// scored on the held-back photos (Y-PSNR/SSIM, border 2) through the engine. A table, then one JSON line.
import { mkdirSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { psnrY, ssimY, type RgbPixels } from '../../common/image-metrics.ts';
import { resizeBicubic } from '../../common/resize.ts';
import { loadModel, type EngineModel } from '../../electron/engine/model-session.ts';
import { type RawImage, rgbSink, runTiled } from '../../electron/engine/tiling.ts';
import { importImageFile } from '../data/import-images.ts';
import { degrade } from '../data/tasks.ts';
import { Rng } from '../rng.ts';
import { trainModel } from '../train-model.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { values } = parseArgs({
  options: {
    class: { type: 'string', default: 'n02102040' },
    epochs: { type: 'string', default: '3' },
    lr: { type: 'string', default: '2e-4' },
    heldBack: { type: 'string', default: '20' },
    base: { type: 'string', default: join(root, 'resources/models/upscale-x2.onnx') },
    datasets: { type: 'string', default: join(root, '../shared/datasets') },
    runs: { type: 'string', default: join(homedir(), '.cache/enhance/bench-finetune') },
  },
});

const dir = join(values.datasets, 'Imagenette160_subset/val', values.class);
const files = new Rng(7).shuffle(readdirSync(dir).sort()).map((f) => join(dir, f));
const held = files.slice(0, Number(values.heldBack));
const tune = files.slice(Number(values.heldBack));
const runDir = join(values.runs, values.class);
const photos = join(runDir, 'photos');
rmSync(photos, { recursive: true, force: true });
mkdirSync(photos, { recursive: true });
for (const f of tune) symlinkSync(f, join(photos, f.split('/').pop()!));

const started = performance.now();
const r = await trainModel({
  task: 'upscale', scale: 2, data: photos, out: join(runDir, 'run'), baseModel: values.base,
  stages: [{ epochs: Number(values.epochs), lr: Number(values.lr) }], batchSize: 8, cropPx: 128, loss: 'l1', seed: 1,
}, (e) => {
  if (e.type === 'log') console.error(e.message);
  if (e.type === 'fit' && e.event.kind === 'epoch') console.error(`epoch ${e.event.record.epoch}: loss ${e.event.record.trainLoss.toFixed(5)}, ${e.event.record.imgPerSec.toFixed(1)} img/s`);
});
if (!r.completed) throw new Error(`fine-tuning stopped: ${r.stoppedBecause}`);
const trainSeconds = (performance.now() - started) / 1000;

async function upscale(model: EngineModel, lr: RgbPixels): Promise<RgbPixels> {
  const out: RawImage = { data: Buffer.alloc(lr.width * 2 * lr.height * 2 * 3), widthPx: lr.width * 2, heightPx: lr.height * 2, channels: 3 };
  await runTiled(model, { data: Buffer.from(lr.data as Uint8Array), widthPx: lr.width, heightPx: lr.height, channels: 3 }, 2, { tileSizePx: 512 }, rgbSink(out));
  return { data: out.data, width: out.widthPx, height: out.heightPx };
}

const models = { shipped: await loadModel(values.base, { providers: 'cpu' }), 'fine-tuned': await loadModel(r.modelPath!, { providers: 'cpu' }) };
const scores: Record<string, { psnr: number[]; ssim: number[] }> = { bicubic: { psnr: [], ssim: [] }, shipped: { psnr: [], ssim: [] }, 'fine-tuned': { psnr: [], ssim: [] } };
for (const f of held) {
  const im = await importImageFile(f);
  if (!('image' in im)) continue;
  const w = im.image.width - (im.image.width % 2), h = im.image.height - (im.image.height % 2);
  const hrData = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) hrData.set(im.image.data.subarray(y * im.image.width * 3, (y * im.image.width + w) * 3), y * w * 3);
  const hr = { data: hrData, width: w, height: h };
  const pair = await degrade(hr, new Rng(0), { task: 'upscale', scale: 2 });
  const lr = { data: Uint8Array.from(pair.input, (v) => Math.round(v * 255)), width: w / 2, height: h / 2 };
  const outs: Record<string, RgbPixels> = {
    bicubic: { data: Uint8Array.from(resizeBicubic(pair.input, w / 2, h / 2, 3, w, h), (v) => Math.round(Math.min(1, Math.max(0, v)) * 255)), width: w, height: h },
    shipped: await upscale(models.shipped, lr),
    'fine-tuned': await upscale(models['fine-tuned'], lr),
  };
  for (const [k, o] of Object.entries(outs)) {
    scores[k].psnr.push(psnrY(o, hr, { cropBorderPx: 2 }));
    scores[k].ssim.push(ssimY(o, hr, { cropBorderPx: 2 }));
  }
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
console.log(`\n×2 on ${held.length} held-back photos of ${values.class}; fine-tuned on ${tune.length} for ${values.epochs} epochs at lr ${values.lr} (${trainSeconds.toFixed(0)} s)`);
console.log(`${'model'.padEnd(12)} ${'Y-PSNR'.padStart(7)} ${'SSIM'.padStart(7)}`);
for (const [k, s] of Object.entries(scores)) console.log(`${k.padEnd(12)} ${mean(s.psnr).toFixed(2).padStart(7)} ${mean(s.ssim).toFixed(4).padStart(7)}`);
console.log(JSON.stringify({ bench: 'finetune', class: values.class, tunePhotos: tune.length, heldBack: held.length, epochs: Number(values.epochs), trainSeconds: Math.round(trainSeconds),
  rows: Object.entries(scores).map(([model, s]) => ({ model, psnr: Number(mean(s.psnr).toFixed(3)), ssim: Number(mean(s.ssim).toFixed(4)) })) }));
for (const m of Object.values(models)) await m.release();
