import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseStages } from '../../common/stages.ts';
import { backendOrder, type BackendChoice } from '../../trainer/backends/select-backend.ts';
import { trainModel, TrainOptionsError, type TrainModelOptions } from '../../trainer/train-model.ts';
import { fitReporter, withCtrlC } from '../fit-reporting.ts';
import { bar, ProgressLine } from '../progress-line.ts';

const help = `usage: enhance train --task upscale|decrappify|colorize --data DIR --out DIR [options]

Trains (or resumes) a model on a folder of photos (searched recursively). Everything goes into --out:
the prepared image store, checkpoint.ckpt after every epoch, and model.onnx at the end. Rerun the same
command after an interruption to resume.

  --task T            upscale, decrappify or colorize
  --scale N           2 or 4 (upscale only; default 2)
  --data DIR          folder of photos
  --out DIR           run folder (created)
  --base FILE         fine-tune this Enhance .onnx (e.g. resources/models/upscale-x2.onnx) instead of starting fresh
  --stages LIST       epochs per stage, e.g. "1:frozen,3" = 1 epoch with the encoder frozen, then 3
                      with everything training; "E@LR" sets a stage's peak learning rate (default 1:frozen,3)
  --lr LR             peak learning rate of the first stage (default 1e-3); later stages default to LR/5
  --batch N           images per step (default 8)
  --crop PX           side of the target crop (default 64·scale for upscale, else 64)
  --widths LIST       U-Net widths (default 32,64,128,256)
  --cross             add cross connections (a ResBlock on each skip)
  --encoder FILE      classifier checkpoint (enhance pretrain) whose encoder initialises the U-Net's down path
  --loss mse|l1|perceptual  perceptual adds λ·MSE of the --encoder classifier's features (default mse)
  --lambda L          weight of the perceptual term (default 0.1)
  --max-side PX       downscale photos larger than this when preparing the store (default 1024)
  --backend B         force a backend: ${backendOrder.join(', ')}
  --workers N         data-parallel worker threads for CPU backends (default: 2 on wasm, else 0)
  --seed N            seed for weights, crops and degradations (default 0)

Exit status: 0 trained, 1 stopped (resumable), 2 usage error, 130 interrupted by Ctrl-C.
`;

/** A number option: undefined stays undefined (the job's default), anything else must read as a number. */
function num(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v)) throw new TrainOptionsError(`--${name} must be a number, not '${text}'`);
  return v;
}

export async function run(argv: string[]): Promise<number> {
  let options: TrainModelOptions;
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        task: { type: 'string' }, scale: { type: 'string' }, data: { type: 'string' }, out: { type: 'string' }, base: { type: 'string' },
        stages: { type: 'string', default: '1:frozen,3' }, lr: { type: 'string', default: '1e-3' }, batch: { type: 'string', default: '8' },
        crop: { type: 'string' }, widths: { type: 'string' }, cross: { type: 'boolean', default: false },
        encoder: { type: 'string' }, loss: { type: 'string', default: 'mse' }, lambda: { type: 'string' }, 'max-side': { type: 'string' },
        backend: { type: 'string' }, workers: { type: 'string' }, seed: { type: 'string' }, help: { type: 'boolean', default: false },
      },
    });
    if (values.help) {
      process.stdout.write(help);
      return 0;
    }
    if (!values.task || !values.data || !values.out) throw new TrainOptionsError('--task, --data and --out are required');
    if (values.task !== 'upscale' && values.scale !== undefined) throw new TrainOptionsError('--scale is for upscale only');
    let stages;
    try {
      stages = parseStages(values.stages, num('lr', values.lr)!);
    } catch (e) {
      throw new TrainOptionsError(`--stages: ${(e as Error).message}`);
    }
    options = {
      task: values.task as TrainModelOptions['task'],
      scale: values.task === 'upscale' ? (num('scale', values.scale ?? '2') as 2 | 4) : undefined,
      data: resolve(values.data), out: resolve(values.out), baseModel: values.base && resolve(values.base), stages,
      batchSize: num('batch', values.batch)!, cropPx: num('crop', values.crop),
      widths: values.widths?.split(',').map((w) => num('widths', w)!), crossConnections: values.cross,
      encoder: values.encoder, loss: values.loss as TrainModelOptions['loss'], lambda: num('lambda', values.lambda),
      maxSidePx: num('max-side', values['max-side']), backend: values.backend as BackendChoice | undefined,
      workers: num('workers', values.workers), seed: num('seed', values.seed),
    };
  } catch (e) {
    if (!(e instanceof TrainOptionsError) && (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') !== true) throw e;
    process.stderr.write(`enhance train: ${(e as Error).message}\n(enhance train --help lists the options)\n`);
    return 2;
  }

  const line = new ProgressLine();
  try {
    return await withCtrlC(line, 'the store', async (signal) => {
      const report = fitReporter(line, (stage) => (options.stages[stage].freeze ? ' (encoder frozen)' : ''));
      const r = await trainModel(options, (e) => {
        if (e.type === 'log') line.log(e.message);
        else if (e.type === 'preparing') line.update(`preparing ${bar(e.done / e.total)} ${e.done}/${e.total} ${e.path}`);
        else report(e.event);
      }, signal);
      if (r.resumedFromEpoch) line.log(`(resumed from the checkpoint after epoch ${r.resumedFromEpoch})`);
      if (!r.completed) {
        line.log(`stopped: ${r.stoppedBecause}. The checkpoint after the last full epoch is in ${r.checkpointPath}; rerun the same command to resume.`);
        return signal.aborted ? 130 : 1;
      }
      line.log(`model: ${r.modelPath}`);
      return 0;
    });
  } catch (e) {
    if (!(e instanceof TrainOptionsError)) throw e;
    line.done();
    process.stderr.write(`enhance train: ${e.message}\n`);
    return 2;
  }
}
