// `npm run train:defaults -- --task upscale --scale 2` (or --all): rebuilds a shipped default from
// ../shared/datasets with its recipe, resumably (rerun after any stop), and writes it into
// resources/models/ with its manifest entry. Run folders live outside the work tree (--runs).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { selectBackend, type BackendChoice } from '../backends/select-backend.ts';
import { importToStore, openImageStore } from '../data/image-store.ts';
import { listFiles } from '../data/import-images.ts';
import { pairSource } from '../data/pair-source.ts';
import { exportOnnx } from '../export/onnx-export.ts';
import type { ModelManifest, ModelManifestEntry } from '../../common/model-manifest.ts';
import type { EpochRecord } from '../fit/checkpoint.ts';
import { trainRun, type TrainRunResult } from '../fit/train-run.ts';
import { buildModel } from '../models/build-model.ts';
import { writeFileAtomic } from '../atomic-write.ts';
import { fitReporter } from '../../cli/fit-reporting.ts';
import { bar, formatDuration, ProgressLine } from '../../cli/progress-line.ts';
import { readOnnxWeights } from '../export/onnx-weights.ts';
import { findRecipe, manifestStages, phasesDone, recipePhases, recipes, type Recipe, type RecipePhase, type RecipeStage } from './default-recipes.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const modelsDir = join(root, 'resources/models');

const { values } = parseArgs({
  options: {
    task: { type: 'string' }, scale: { type: 'string' }, all: { type: 'boolean', default: false },
    datasets: { type: 'string', default: join(root, '../shared/datasets') },
    runs: { type: 'string', default: join(homedir(), '.cache/enhance/train-defaults') },
    backend: { type: 'string' }, workers: { type: 'string' }, epochs: { type: 'string' },
    'from-shipped': { type: 'boolean', default: false },
  },
});
const chosen = values.all ? recipes : [findRecipe(values.task ?? '', values.scale ? Number(values.scale) : undefined)];
if (chosen.some((r) => !r)) {
  console.error('usage: npm run train:defaults -- --task upscale|decrappify|colorize [--scale 2|4] | --all [--runs DIR] [--datasets DIR] [--epochs N] [--from-shipped]');
  process.exit(2);
}

const line = new ProgressLine();
const sel = await selectBackend(values.backend as BackendChoice | undefined);
const workers = values.workers !== undefined ? Number(values.workers) : sel.backend === 'wasm' ? Math.min(2, cpus().length) : 0;
line.log(`${sel.line}${workers ? `, ${workers} workers` : ''}`);

for (const recipe of chosen as Recipe[]) {
  const runDir = resolve(values.runs, recipe.id);
  mkdirSync(runDir, { recursive: true });
  const stages = values.epochs ? recipe.stages.map((s) => ({ ...s, epochs: Number(values.epochs) })) : recipe.stages;
  const files: { path: string }[] = [];
  for (const d of recipe.datasets) {
    const dir = join(values.datasets, d);
    if (!existsSync(dir)) throw new Error(`${dir}: dataset folder not found (see ../shared/datasets/SOURCES.md)`);
    for (const path of await listFiles(dir)) files.push({ path });
  }
  const storeDir = join(runDir, 'store');
  const summary = await importToStore(storeDir, files, {
    maxSidePx: recipe.maxSidePx,
    onProgress: (done, total) => line.update(`${recipe.id}: preparing ${bar(done / total)} ${done}/${total}`),
  });
  line.log(`${recipe.id}: store ${summary.count} images (${summary.skipped.length} skipped)`);
  const store = openImageStore(storeDir);
  const phases = recipePhases(recipe, stages);
  // A later phase starts from the earlier one's weights (fresh optimizer state), keeps the first phase's
  // validation crops so the curve stays comparable, and samples epochs the earlier phases did not.
  const history: EpochRecord[] = [];
  let weights: Map<string, Float32Array> | undefined;
  let r: TrainRunResult | undefined;
  let batchesPerEpoch = 0;
  let trainImages = 0;
  let firstPhase = 0;
  if (values['from-shipped']) {
    try {
      const shipped = fromShipped(recipe, phases, stages);
      ({ firstPhase, weights } = shipped);
      history.push(...shipped.history);
    } catch (e) {
      // One line, not a stack: the wasm backend's handler would print its whole source on an uncaught error.
      store.close();
      line.log(`--from-shipped: ${(e as Error).message}`);
      process.exitCode = 2;
      break;
    }
    line.log(`${recipe.id}: phases 1–${firstPhase} taken from resources/models/${recipe.id}.onnx (${history.length} epochs)`);
  }
  for (const [k, phase] of phases.entries()) {
    if (k < firstPhase) continue;
    const spec = { kind: 'unet' as const, options: phase.options };
    const data = pairSource({
      store, task: recipe.task, scale: recipe.scale, batchSize: recipe.batchSize, cropPx: phase.cropPx, validationCropPx: recipe.cropPx,
      epochOffset: history.length, seed: recipe.seed, ...recipe.degrade,
    });
    ({ batchesPerEpoch, trainImages } = data);
    if (k === 0) line.log(`${recipe.id}: ${data.trainImages} training / ${data.validationImages} validation images, ${data.batchesPerEpoch} steps per epoch`);
    if (phases.length > 1) line.log(`${recipe.id}: phase ${k + 1} of ${phases.length}: ${phase.loss.kind} loss, ${phase.cropPx}-px crops, ${phase.stages.length} stage(s)`);
    r = await trainRun({
      spec, loss: phase.loss, data, stages: phase.stages, seed: recipe.seed, backend: sel.backend, workers, initialWeights: weights,
      checkpointPath: join(runDir, k === 0 ? 'checkpoint.ckpt' : `checkpoint-phase${k + 1}.ckpt`), onEvent: fitReporter(line),
    });
    if (!r.completed) break;
    const stagesBefore = phases.slice(0, k).reduce((a, p) => a + p.stages.length, 0);
    const epochsBefore = history.length;
    history.push(...r.history.map((h) => ({ ...h, epoch: h.epoch + epochsBefore, stage: h.stage + stagesBefore })));
    weights = r.layout.toMap(r.weights);
  }
  store.close();
  if (!r?.completed) {
    line.log(`${recipe.id}: stopped (${r?.stoppedBecause}); rerun the same command to resume`);
    process.exitCode = 1;
    break;
  }
  const seconds = history.reduce((a, h) => a + h.seconds, 0);
  const steps = history.length * batchesPerEpoch;
  const spec = { kind: 'unet' as const, options: phases.at(-1)!.options };
  const def = buildModel(spec);
  const trainingData = `${trainImages} photos of ${recipe.datasets.join(' + ')} (../shared/datasets)`;
  const trainedStages = manifestStages(stages);
  const lossKinds = [...new Set(phases.map((p) => p.loss.kind))].join(', then ');
  const bytes = exportOnnx(def, weights!, {
    id: recipe.id, trainingData, trainingStages: JSON.stringify(trainedStages), trainingLoss: lossKinds,
  });
  writeFileAtomic(join(modelsDir, `${recipe.id}.onnx`), [bytes]);
  writeFileSync(join(runDir, 'history.json'), JSON.stringify(history, null, 1));
  const manifestPath = join(modelsDir, 'manifest.json');
  const manifest = readManifest();
  const entry: ModelManifestEntry = {
    id: recipe.id, file: `${recipe.id}.onnx`, descriptor: def.descriptor!,
    sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length, trained: true, notes: recipe.notes,
    training: {
      architecture: def.descriptor!.architecture, parameters: r.layout.total, data: trainingData, loss: lossKinds,
      stages: trainedStages, steps, batchSize: recipe.batchSize, cropPx: recipe.cropPx, wallSeconds: Math.round(seconds),
      machine: `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}`, backend: `${sel.backend}${workers ? ` × ${workers} workers` : ''}`,
      command: `npm run train:defaults -- --task ${recipe.task}${recipe.task === 'upscale' ? ` --scale ${recipe.scale}` : ''}`,
    },
  };
  const old = manifest.models.find((m) => m.id === recipe.id);
  if (old?.metrics) delete old.metrics;
  manifest.models = [...manifest.models.filter((m) => m.id !== recipe.id), entry].sort((a, b) => recipes.findIndex((x) => x.id === a.id) - recipes.findIndex((x) => x.id === b.id));
  writeFileAtomic(manifestPath, [Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`)]);
  line.log(`${recipe.id}: ${(bytes.length / 1e6).toFixed(2)} MB written to resources/models after ${formatDuration(seconds)} of training (${steps} steps); run npm run bench:quality -- --write-manifest for its metrics`);
}
line.done();

function readManifest(): ModelManifest {
  return JSON.parse(readFileSync(join(modelsDir, 'manifest.json'), 'utf8')) as ModelManifest;
}

/**
 * --from-shipped: the phases the shipped model's manifest entry already lists are not retrained; the
 * next phase starts from the shipped ONNX's weights (read back by name), as it would from that phase's
 * checkpoint, and the manifest's curve becomes the history, so steps, wall time and the curve carry on.
 * So a recipe that appends a phase continues from what ships on a machine without the run folder.
 */
function fromShipped(recipe: Recipe, phases: RecipePhase[], stages: RecipeStage[]): { firstPhase: number; weights: Map<string, Float32Array>; history: EpochRecord[] } {
  const entry = readManifest().models.find((m) => m.id === recipe.id);
  const training = entry?.training;
  const firstPhase = phasesDone(recipe.id, phases, stages, training?.stages ?? []);
  const bytes = readFileSync(join(modelsDir, `${recipe.id}.onnx`));
  if (createHash('sha256').update(bytes).digest('hex') !== entry?.sha256) throw new Error(`resources/models/${recipe.id}.onnx: not the file its manifest entry describes (sha256 differs)`);
  const { spec, weights } = readOnnxWeights(bytes);
  if (JSON.stringify(spec.options) !== JSON.stringify(phases[firstPhase - 1].options)) {
    throw new Error(`${recipe.id}: the shipped model's options ${JSON.stringify(spec.options)} are not its last phase's`);
  }
  const curve = training?.curve ?? [];
  const epochs = training?.stages.reduce((a, s) => a + s.epochs, 0);
  if (curve.length !== epochs) throw new Error(`${recipe.id}: the manifest's curve has ${curve.length} epochs, its stages ${epochs}`);
  const history = curve.map((c) => ({
    epoch: c.epoch, stage: c.stage, trainLoss: c.trainLoss, valLoss: c.validationLoss, seconds: c.seconds, imgPerSec: 0,
    metrics: Object.fromEntries(Object.entries({ psnrY: c.psnrY, psnrRgb: c.psnrRgb }).filter(([, v]) => v !== undefined)) as Record<string, number>,
  }));
  return { firstPhase, weights, history };
}
