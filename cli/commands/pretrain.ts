// `enhance pretrain`: trains the classifier whose encoder initialises a U-Net (`enhance train --encoder`) and
// drives the perceptual loss.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { backendOrder, type BackendChoice, selectBackend } from '../../trainer/backends/select-backend.ts';
import { pretrainClassifier, type PretrainMode } from '../../trainer/pretrain/pretrain-classifier.ts';
import { fitReporter, withCtrlC, workersFor } from '../fit-reporting.ts';
import { bar, ProgressLine } from '../progress-line.ts';

const help = `usage: enhance pretrain --data DIR --out FILE [options]

Pretrains a classifier for its encoder. Rerun the same command after an interruption to resume.

  --mode M          supervised: a labelled dataset (Tiny ImageNet layout, train/ and val/ class
                    folders, or class folders); rotation: any folder of photos, labelled by which
                    of 4 turns was applied (self-supervised). Default rotation
  --data DIR        the dataset or photo folder
  --val DIR         rotation only: held-out photos (default: a seeded tenth of --data)
  --out FILE        classifier checkpoint, written every epoch
  --store DIR       decoded images, kept for later runs (default FILE.store)
  --widths LIST     encoder widths; must match the U-Net's (default 32,64,128,256)
  --epochs N        (default 5)
  --lr LR           peak learning rate (default 3e-3)
  --batch N         images per step (default 32)
  --crop PX         square training crop (default 64)
  --max-side PX     photos are downscaled to this when stored (default 1.25 × crop)
  --backend B       force a backend: ${backendOrder.join(', ')}
  --workers N       data-parallel worker threads for CPU backends (default: 2 on wasm, else 0)
  --seed N          (default 0)
`;

function count(name: string, text: string, min = 1): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer of at least ${min}, not '${text}'`);
  return n;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      mode: { type: 'string', default: 'rotation' }, data: { type: 'string' }, val: { type: 'string' }, out: { type: 'string' },
      store: { type: 'string' }, widths: { type: 'string', default: '32,64,128,256' }, epochs: { type: 'string', default: '5' },
      lr: { type: 'string', default: '3e-3' }, batch: { type: 'string', default: '32' }, crop: { type: 'string', default: '64' },
      'max-side': { type: 'string' }, backend: { type: 'string' }, workers: { type: 'string' }, seed: { type: 'string', default: '0' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(help);
    return 0;
  }
  const mode = values.mode as PretrainMode;
  if (!values.data || !values.out || (mode !== 'supervised' && mode !== 'rotation')) {
    process.stderr.write(`enhance pretrain: --data and --out are required, --mode is supervised or rotation\n\n${help}`);
    return 2;
  }
  if (values.val && mode === 'supervised') {
    process.stderr.write('enhance pretrain: --val is for rotation; a supervised dataset brings its own val split\n');
    return 2;
  }
  const widths = values.widths.split(',').map((w) => count('widths', w));
  const cropPx = count('crop', values.crop);
  const multiple = 2 ** (widths.length - 1);
  if (cropPx % multiple) throw new Error(`--crop must be a multiple of ${multiple} for ${widths.length} widths`);
  const out = resolve(values.out);

  const sel = await selectBackend(values.backend as BackendChoice | undefined);
  const workers = workersFor(sel, values.workers);
  const line = new ProgressLine();
  line.log(sel.line + (workers ? `, ${workers} workers` : ''));
  const dataDir = resolve(values.data);
  return withCtrlC(line, 'the images', async (signal) => {
    const r = await pretrainClassifier({
      mode, dataDir, valDir: values.val && resolve(values.val), storeDir: resolve(values.store ?? `${out}.store`), out,
      widths, epochs: count('epochs', values.epochs), lr: Number(values.lr), batchSize: count('batch', values.batch), cropPx,
      maxSidePx: values['max-side'] === undefined ? undefined : count('max-side', values['max-side']),
      backend: sel.backend, workers, seed: Number(values.seed), signal,
      onImport: (split, done, total, path) => line.update(`preparing ${split} ${bar(done / total)} ${done}/${total} ${path}`),
      onEvent: fitReporter(line),
    });
    for (const s of r.skipped) line.log(`skipped ${s.path}: ${s.reason}`);
    line.log(`${mode}: ${r.classes.length} classes, ${r.trainImages} training images, ${r.heldOutImages} held out`);
    if (r.resumedFromEpoch) line.log(`(resumed from the checkpoint after epoch ${r.resumedFromEpoch})`);
    if (!r.completed || !r.heldOut) {
      line.log(`stopped: ${r.stoppedBecause}. The checkpoint after the last full epoch is in ${out}; rerun the same command to resume.`);
      return 1;
    }
    const { accuracy, correct, total } = r.heldOut;
    line.log(`held-out accuracy ${(accuracy * 100).toFixed(1)}% (${correct}/${total}; chance ${(100 / r.classes.length).toFixed(1)}%)`);
    line.log(`classifier: ${out}`);
    return 0;
  });
}

