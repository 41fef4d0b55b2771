import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Task } from '../../common/model-descriptor.ts';
import { backendOrder, type BackendChoice, selectBackend } from '../../trainer/backends/select-backend.ts';
import { importToStore, openImageStore } from '../../trainer/data/image-store.ts';
import { pairSource } from '../../trainer/data/pair-source.ts';
import { exportOnnx } from '../../trainer/export/onnx-export.ts';
import type { Stage } from '../../trainer/fit/learner.ts';
import { trainRun } from '../../trainer/fit/train-run.ts';
import { buildModel, type ModelSpec } from '../../trainer/models/build-model.ts';
import { writeFileAtomic } from '../../trainer/atomic-write.ts';
import type { LossSpec } from '../../trainer/losses/losses.ts';
import { copyEncoder } from '../../trainer/pretrain/pretrain-classifier.ts';
import { fitReporter, withCtrlC, workersFor } from '../fit-reporting.ts';
import { bar, ProgressLine } from '../progress-line.ts';

const help = `usage: enhance train --task upscale|decrappify|colorize --data DIR --out DIR [options]

Trains (or resumes) a model on a folder of photos (searched recursively). Everything goes into --out:
the prepared image store, checkpoint.ckpt after every epoch, and model.onnx at the end. Rerun the same
command after an interruption to resume.

  --task T            upscale, decrappify or colorize
  --scale N           2 or 4 (upscale only; default 2)
  --data DIR          folder of photos
  --out DIR           run folder (created)
  --stages LIST       epochs per stage, e.g. "1:frozen,3" = 1 epoch with the encoder frozen, then 3
                      with everything training; "E@LR" sets a stage's peak learning rate (default 1:frozen,3)
  --lr LR             peak learning rate of the first stage (default 1e-3); later stages default to LR/5
  --batch N           images per step (default 8)
  --crop PX           side of the target crop (default 64·scale for upscale, else 64)
  --widths LIST       U-Net widths (default 32,64,128,256)
  --cross             add cross connections (a ResBlock on each skip)
  --encoder FILE      classifier checkpoint (enhance pretrain) whose encoder initialises the U-Net's down path
  --loss mse|perceptual  perceptual adds λ·MSE of the --encoder classifier's features (default mse)
  --lambda L          weight of the perceptual term (default 0.1)
  --max-side PX       downscale photos larger than this when preparing the store (default 1024)
  --backend B         force a backend: ${backendOrder.join(', ')}
  --workers N         data-parallel worker threads for CPU backends (default: 2 on wasm, else 0)
  --seed N            seed for weights, crops and degradations (default 0)
`;

export function parseStages(text: string, lr: number): Stage[] {
  return text.split(',').map((part, i) => {
    const m = /^(\d+)(:frozen)?(?:@([\d.e+-]+))?$/.exec(part.trim());
    if (!m) throw new Error(`--stages: cannot read '${part}' (expected e.g. 1:frozen or 3@1e-4)`);
    return { epochs: Number(m[1]), lr: m[3] ? Number(m[3]) : i === 0 ? lr : lr / 5, ...(m[2] ? { freeze: ['encoder'] } : {}) };
  });
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      task: { type: 'string' }, scale: { type: 'string', default: '2' }, data: { type: 'string' }, out: { type: 'string' },
      stages: { type: 'string', default: '1:frozen,3' }, lr: { type: 'string', default: '1e-3' }, batch: { type: 'string', default: '8' },
      crop: { type: 'string' }, widths: { type: 'string', default: '32,64,128,256' }, cross: { type: 'boolean', default: false },
      encoder: { type: 'string' }, loss: { type: 'string', default: 'mse' }, lambda: { type: 'string', default: '0.1' }, 'max-side': { type: 'string', default: '1024' },
      backend: { type: 'string' }, workers: { type: 'string' }, seed: { type: 'string', default: '0' }, help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(help);
    return 0;
  }
  const task = values.task as Task;
  if (!['upscale', 'decrappify', 'colorize'].includes(task) || !values.data || !values.out) {
    process.stderr.write(`enhance train: --task, --data and --out are required\n\n${help}`);
    return 2;
  }
  if (!existsSync(values.data)) {
    process.stderr.write(`enhance train: ${values.data}: no such folder\n`);
    return 2;
  }
  const scale = task === 'upscale' ? (Number(values.scale) as 2 | 4) : 1;
  const stages = parseStages(values.stages, Number(values.lr));
  const widths = values.widths.split(',').map(Number);
  const spec: ModelSpec = { kind: 'unet', options: { task, scale, widths, crossConnections: values.cross } };
  const multiple = 2 ** (widths.length - 1) * scale;
  const cropPx = Number(values.crop ?? 64 * scale);
  if (cropPx % multiple) throw new Error(`--crop must be a multiple of ${multiple}`);
  if (values.loss !== 'mse' && values.loss !== 'perceptual') throw new Error(`--loss ${values.loss}: use mse or perceptual`);
  if (values.loss === 'perceptual' && !values.encoder) throw new Error('--loss perceptual needs --encoder (a classifier checkpoint)');
  const loss: LossSpec = values.loss === 'perceptual'
    ? { kind: 'perceptual', classifierPath: resolve(values.encoder!), lambda: Number(values.lambda) }
    : { kind: 'mse' };
  if (values.encoder && stages.some((s) => s.freeze) === false) process.stderr.write('note: --encoder given but no stage is frozen\n');

  const out = resolve(values.out);
  const dataDir = resolve(values.data);
  mkdirSync(out, { recursive: true });
  const sel = await selectBackend(values.backend as BackendChoice | undefined);
  const workers = workersFor(sel, values.workers);
  const line = new ProgressLine();
  line.log(sel.line + (workers ? `, ${workers} workers` : ''));
  return withCtrlC(line, 'the store', async (signal) => {
    const storeDir = join(out, 'store');
    const summary = await importToStore(storeDir, dataDir, {
      maxSidePx: Number(values['max-side']),
      signal,
      onProgress: (done, total, path) => line.update(`preparing ${bar(done / total)} ${done}/${total} ${path}`),
    });
    line.log(`store: ${summary.count} images (${summary.added} new, ${summary.alreadyStored} already stored, ${summary.skipped.length} skipped)`);
    for (const s of summary.skipped) line.log(`  skipped ${s.path}: ${s.reason}`);
    const store = openImageStore(storeDir);
    try {
      const data = pairSource({ store, task, scale, batchSize: Number(values.batch), cropPx, seed: Number(values.seed) });
      line.log(`training on ${data.trainImages} images, validating on ${data.validationImages}; ${data.batchesPerEpoch} steps per epoch`);
      let initialWeights: Map<string, Float32Array> | undefined;
      if (values.encoder) {
        initialWeights = copyEncoder(resolve(values.encoder), widths);
      }
      const checkpointPath = join(out, 'checkpoint.ckpt');
      const r = await trainRun({
        spec, loss, data, stages, seed: Number(values.seed), backend: sel.backend, workers, checkpointPath,
        initialWeights, signal,
        onEvent: fitReporter(line, (stage) => (stages[stage].freeze ? ' (encoder frozen)' : '')),
      });
      if (r.resumedFromEpoch) line.log(`(resumed from the checkpoint after epoch ${r.resumedFromEpoch})`);
      if (!r.completed) {
        line.log(`stopped: ${r.stoppedBecause}. The checkpoint after the last full epoch is in ${checkpointPath}; rerun the same command to resume.`);
        return 1;
      }
      const modelPath = join(out, 'model.onnx');
      writeFileAtomic(modelPath, [exportOnnx(buildModel(spec), r.layout.toMap(r.weights), {
        trainingData: `${data.trainImages} photos from ${dataDir}`,
        trainingStages: values.stages,
      })]);
      line.log(`model: ${modelPath}`);
      return 0;
    } finally {
      store.close();
    }
  });
}
