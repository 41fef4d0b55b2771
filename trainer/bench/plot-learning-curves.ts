// `npm run plot:curves [-- --runs DIR] [--write-manifest] [--out docs/learning-curves.png]`: the
// learning curve of each shipped default — validation PSNR after every epoch against the training
// crops seen, stage boundaries marked — from the run folders `npm run train:defaults` leaves (or the
// curve already recorded in the manifest). --write-manifest records each curve in its manifest entry,
// so the figure can be redrawn from a clone without the run folders.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import type { ModelManifest, TrainedStage, TrainingCurvePoint } from '../../common/model-manifest.ts';
import { writeFileAtomic } from '../atomic-write.ts';
import type { EpochRecord } from '../fit/checkpoint.ts';
import { recipes } from '../recipes/default-recipes.ts';
import { escapeXml } from './svg-text.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: join(homedir(), '.cache/enhance/train-defaults') },
    out: { type: 'string', default: join(root, 'docs/learning-curves.png') },
    'write-manifest': { type: 'boolean', default: false },
  },
});
const manifestPath = join(root, 'resources/models/manifest.json');
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as ModelManifest;

const round = (v: number | undefined, digits: number) => (v === undefined ? undefined : Number(v.toFixed(digits)));
function fromHistory(h: EpochRecord[]): TrainingCurvePoint[] {
  return h.map((e) => ({
    epoch: e.epoch, stage: e.stage, trainLoss: round(e.trainLoss, 5)!, validationLoss: round(e.valLoss, 5),
    psnrY: round(e.metrics?.psnrY, 3), psnrRgb: round(e.metrics?.psnrRgb, 3), seconds: round(e.seconds, 1)!,
  }));
}

/** What a stage changes: its rate always; loss and crop size where they change; growth and freezing. */
function stageLabel(s: TrainedStage, i: number, stages: TrainedStage[]): string {
  const prev = stages[i - 1];
  const parts = [`lr ${s.lr}`];
  if (s.loss && s.loss !== prev?.loss) parts.push(s.loss);
  if (s.cropPx && s.cropPx !== prev?.cropPx) parts.push(`${s.cropPx}-px crops`);
  if (s.grow?.headBlocks) parts.push(`${s.grow.headBlocks} head blocks`);
  if (s.freeze?.length) parts.push(`${s.freeze.join('+')} frozen`);
  return parts.join(', ');
}

interface Panel { id: string; curve: TrainingCurvePoint[]; cropsPerEpoch: number; metric: 'psnrY' | 'psnrRgb'; stageLabels: string[] }
const panels: Panel[] = [];
for (const recipe of recipes) {
  const entry = manifest.models.find((m) => m.id === recipe.id);
  if (!entry?.training) continue;
  const historyPath = join(values.runs, recipe.id, 'history.json');
  const curve = existsSync(historyPath) ? fromHistory(JSON.parse(readFileSync(historyPath, 'utf8')) as EpochRecord[]) : entry.training.curve;
  if (!curve?.length) continue;
  if (values['write-manifest']) entry.training.curve = curve;
  const cropsPerEpoch = (entry.training.steps / curve.length) * entry.training.batchSize;
  panels.push({ id: recipe.id, curve, cropsPerEpoch, metric: recipe.task === 'colorize' ? 'psnrRgb' : 'psnrY',
    stageLabels: entry.training.stages.map(stageLabel) });
}
if (values['write-manifest']) writeFileAtomic(manifestPath, [Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`)]);

// The table: validation PSNR at a few points along each run.
console.log('model        epoch  crops (k)  validation PSNR (dB)  minutes');
for (const p of panels) {
  const picks = [...new Set([0, 0.25, 0.5, 0.75, 1].map((f) => Math.max(0, Math.round(f * p.curve.length) - 1)))];
  let minutes = 0;
  const cumulative = p.curve.map((c) => (minutes += c.seconds / 60));
  for (const i of picks) {
    const c = p.curve[i];
    console.log(`${p.id.padEnd(12)} ${String(c.epoch).padStart(5)}  ${((c.epoch * p.cropsPerEpoch) / 1000).toFixed(1).padStart(9)}  ${(c[p.metric] ?? Number.NaN).toFixed(2).padStart(20)}  ${cumulative[i].toFixed(0).padStart(7)}`);
  }
}

// The figure: one panel per model, PSNR against thousands of crops, dashed lines between stages.
const w = 460, h = 280, pad = { l: 52, r: 14, t: 30, b: 40 };
function panelSvg(p: Panel): string {
  const pts = p.curve.filter((c) => c[p.metric] !== undefined).map((c) => ({ x: (c.epoch * p.cropsPerEpoch) / 1000, y: c[p.metric]!, stage: c.stage }));
  const xMax = Math.max(...pts.map((q) => q.x));
  const yLo = Math.min(...pts.map((q) => q.y)), yHi = Math.max(...pts.map((q) => q.y));
  const span = Math.max(yHi - yLo, 0.2), y0 = yLo - span * 0.08, y1 = yHi + span * 0.08;
  const sx = (x: number) => pad.l + (x / xMax) * (w - pad.l - pad.r);
  // Stage labels first: nearby ones go on lines below each other, kept inside the panel; the plot starts below them.
  const labels: { x: number; lineX: number; row: number; text: string }[] = [];
  const taken: [number, number][][] = [];
  for (let i = 1; i < pts.length; i++) {
    if (pts[i].stage === pts[i - 1].stage) continue;
    const lineX = sx(pts[i - 1].x);
    const text = `stage ${pts[i].stage + 1}, ${p.stageLabels[pts[i].stage]}`;
    const width = text.length * 5.5;
    const x = Math.max(pad.l, Math.min(lineX + 4, w - pad.r - width));
    let row = taken.findIndex((r) => r.every(([a, b]) => x + width < a || x > b));
    if (row < 0) row = taken.push([]) - 1;
    taken[row].push([x, x + width]);
    labels.push({ x, lineX, row, text });
  }
  const top = pad.t + taken.length * 12 + 4;
  const sy = (y: number) => h - pad.b - ((y - y0) / (y1 - y0)) * (h - top - pad.b);
  const parts: string[] = [`<rect width="${w}" height="${h}" fill="white"/>`];
  for (let k = 0; k <= 4; k++) {
    const y = y0 + ((y1 - y0) * k) / 4;
    parts.push(`<line x1="${pad.l}" x2="${w - pad.r}" y1="${sy(y)}" y2="${sy(y)}" stroke="#e3e3e3"/>`, `<text x="${pad.l - 6}" y="${sy(y) + 4}" text-anchor="end" font-size="11">${y.toFixed(2)}</text>`);
    const x = (xMax * k) / 4;
    parts.push(`<text x="${sx(x)}" y="${h - pad.b + 16}" text-anchor="middle" font-size="11">${x.toFixed(x < 10 ? 1 : 0)}</text>`);
  }
  for (const l of labels) {
    parts.push(`<line x1="${l.lineX}" x2="${l.lineX}" y1="${pad.t + l.row * 12 + 2}" y2="${h - pad.b}" stroke="#999" stroke-dasharray="4 3"/>`,
      `<text x="${l.x}" y="${pad.t + 10 + l.row * 12}" font-size="10" fill="#555">${escapeXml(l.text)}</text>`);
  }
  parts.push(`<polyline fill="none" stroke="#1f6fd1" stroke-width="2" points="${pts.map((q) => `${sx(q.x).toFixed(1)},${sy(q.y).toFixed(1)}`).join(' ')}"/>`);
  if (pts.length === 1) parts.push(`<circle cx="${sx(pts[0].x)}" cy="${sy(pts[0].y)}" r="3" fill="#1f6fd1"/>`);
  parts.push(
    `<text x="${pad.l}" y="18" font-size="13" font-weight="bold">${escapeXml(p.id)}</text>`,
    `<text x="${w - pad.r}" y="18" font-size="11" text-anchor="end">validation ${p.metric === 'psnrY' ? 'Y-PSNR' : 'RGB PSNR'} (dB), held-out training photos</text>`,
    `<text x="${(pad.l + w - pad.r) / 2}" y="${h - 8}" font-size="11" text-anchor="middle">training crops seen (thousands)</text>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif">${parts.join('')}</svg>`;
}
// A one-epoch run has a point, not a curve: it stays in the table only.
const drawn = panels.filter((p) => p.curve.length > 1);
const cols = 2, rows = Math.ceil(drawn.length / cols);
await sharp({ create: { width: cols * w, height: rows * h, channels: 3, background: 'white' } })
  .composite(drawn.map((p, i) => ({ input: Buffer.from(panelSvg(p)), left: (i % cols) * w, top: Math.floor(i / cols) * h })))
  .png().toFile(values.out);
console.log(`figure: ${values.out}`);
console.log(JSON.stringify({ bench: 'learning-curves', rows: panels.map((p) => ({ id: p.id, epochs: p.curve.length, crops: Math.round(p.curve.length * p.cropsPerEpoch), finalPsnr: p.curve.at(-1)?.[p.metric] })) }));
