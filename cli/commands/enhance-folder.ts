// `enhance upscale|decrappify|colorize IN --out DIR`: the batch front end over electron/engine.
import { availableParallelism } from 'node:os';
import { relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { isEnhanceError } from '../../common/errors.ts';
import type { Task } from '../../common/model-descriptor.ts';
import { type BatchPlan, planBatch, runBatch } from '../../electron/engine/batch.ts';
import { defaultTileSizePx } from '../../electron/engine/enhance-image.ts';
import { defaultPixelLimit, type OutputFormat, outputFormats } from '../../electron/engine/image-io.ts';
import { openModel } from '../../electron/engine/model-catalog.ts';
import type { EngineModel } from '../../electron/engine/model-session.ts';
import { tilePlanOptions } from '../../electron/engine/tiling.ts';
import { bar, formatDuration, ProgressLine } from '../progress-line.ts';

const what: Record<Task, string> = {
  upscale: 'Upscales photos ×2 or ×4.',
  decrappify: 'Removes JPEG artifacts.',
  colorize: 'Colorizes black-and-white photos (keeps their own luminance).',
};

function helpFor(task: Task): string {
  return `usage: enhance ${task} IN --out DIR [options]

${what[task]} IN is a folder of photos or one photo. Outputs keep their names (and, with
--recursive, their subfolders) under DIR, which may not hold an input's own path. Rerunning skips
outputs that exist, so an interrupted run resumes where it stopped. Ctrl-C stops after the current
tile and leaves no partial files.
${task === 'upscale' ? '\n  --scale N           2 or 4 (default 2, or the --model\'s scale)' : ''}
  --out DIR           output folder (created)
  --model FILE        an .onnx model (default: the installed one for the task${task === 'upscale' ? ' and scale' : ''})
  --format F          same (default), png, jpeg, webp, avif or tiff
  --quality Q         1-100 for jpeg, webp and avif (default 90, avif 70)
  --recursive         include subfolders, mirrored under DIR
  --jobs N            photos in flight at once (default 1); they share the model
  --tile-size PX      largest tile side fed to the model (default ${defaultTileSizePx(2)}, ×4: ${defaultTileSizePx(4)}); smaller uses less memory
  --max-megapixels N  refuse larger inputs (default ${(defaultPixelLimit / 1e6).toFixed(0)})
  --threads N         ONNX Runtime threads (default ${availableParallelism()})
  --cpu               do not try a GPU

Exit status: 0 all done, 1 some photos failed (listed), 2 usage or model error, 130 interrupted.
`;
}

function positiveInt(name: string, text: string | undefined, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  if (text === undefined) return fallback;
  const v = Number(text);
  if (!Number.isInteger(v) || v < 1 || v > max) throw new UsageError(`${name} must be an integer from 1 to ${max}, not '${text}'`);
  return v;
}

class UsageError extends Error {}

export function command(task: Task): { run(argv: string[]): Promise<number> } {
  return { run: (argv) => run(task, argv) };
}

async function run(task: Task, argv: string[]): Promise<number> {
  const name = `enhance ${task}`;
  const log = (line: string) => process.stderr.write(`${line}\n`);
  let values;
  let input: string;
  let options;
  try {
    const parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        out: { type: 'string' }, scale: { type: 'string' }, model: { type: 'string' }, format: { type: 'string', default: 'same' },
        quality: { type: 'string' }, recursive: { type: 'boolean', default: false }, jobs: { type: 'string' },
        'tile-size': { type: 'string' }, 'max-megapixels': { type: 'string' }, threads: { type: 'string' },
        cpu: { type: 'boolean', default: false }, help: { type: 'boolean', default: false },
      },
    });
    values = parsed.values;
    if (values.help) {
      process.stdout.write(helpFor(task));
      return 0;
    }
    if (parsed.positionals.length !== 1) throw new UsageError('give exactly one input folder or file');
    if (!values.out) throw new UsageError('--out DIR is required');
    input = parsed.positionals[0];
    if (task !== 'upscale' && values.scale !== undefined) throw new UsageError('--scale is for upscale only');
    if (values.scale !== undefined && values.scale !== '2' && values.scale !== '4') throw new UsageError(`--scale must be 2 or 4, not '${values.scale}'`);
    const format = values.format === 'jpg' ? 'jpeg' : values.format;
    if (format !== 'same' && !outputFormats.includes(format as OutputFormat)) throw new UsageError(`--format must be same, ${outputFormats.join(', ')}`);
    options = {
      format: format as OutputFormat | 'same',
      quality: values.quality === undefined ? undefined : positiveInt('--quality', values.quality, 90, 100),
      jobs: positiveInt('--jobs', values.jobs, 1, 64),
      tileSizePx: values['tile-size'] === undefined ? undefined : positiveInt('--tile-size', values['tile-size'], 0, 16384),
      pixelLimit: Math.round(positiveInt('--max-megapixels', values['max-megapixels'], defaultPixelLimit / 1e6) * 1e6),
      threads: positiveInt('--threads', values.threads, availableParallelism(), 256),
      recursive: values.recursive,
    };
  } catch (e) {
    if (!(e instanceof UsageError) && (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') !== true) throw e;
    log(`${name}: ${(e as Error).message}\n\n${helpFor(task)}`);
    return 2;
  }

  let plan: BatchPlan;
  let model: EngineModel;
  try {
    plan = await planBatch(input, values.out, { recursive: options.recursive, format: options.format });
    model = await openModel(
      { task, scale: values.scale === undefined ? (values.model ? undefined : 2) : (Number(values.scale) as 2 | 4), modelPath: values.model },
      { threads: options.threads, providers: values.cpu ? 'cpu' : 'auto' },
    );
    tilePlanOptions(model.descriptor, options.tileSizePx ?? defaultTileSizePx(model.descriptor.scale));
  } catch (e) {
    if (!isEnhanceError(e)) throw e;
    log(`${name}: ${e.path ? `${e.path}: ` : ''}${e.message}`);
    return 2;
  }

  const inRoot = resolve(input);
  const show = (path: string) => {
    const rel = relative(inRoot, path);
    return rel && !rel.startsWith('..') ? rel : path;
  };
  const controller = new AbortController();
  const line = new ProgressLine();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
    line.log(`${name}: stopping after the current tile (Ctrl-C again to quit at once)`);
  };
  process.on('SIGINT', onSigint);
  const started = performance.now();
  try {
    const summary = await runBatch(model, plan, {
      ...options,
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'file-failed') line.log(`failed  ${show(e.inputPath)}: ${e.error.message} [${e.error.code}]`);
        if (e.type !== 'progress') return;
        const p = e.progress;
        const seconds = (performance.now() - started) / 1000;
        const rate = seconds > 0 ? p.inputMegapixelsDone / seconds : 0;
        const eta = p.fraction > 0 ? (seconds / p.fraction) * (1 - p.fraction) : Number.NaN;
        const current = p.current.map(show).join(', ');
        line.update(`${bar(p.fraction)} ${p.filesDone}/${p.filesTotal} files  ${rate.toFixed(2)} MP/s  ETA ${formatDuration(eta)}  ${current}`);
      },
    });
    line.done();
    const rate = summary.seconds > 0 ? summary.inputMegapixels / summary.seconds : 0;
    log(`${summary.aborted ? 'interrupted: ' : ''}${summary.enhanced} enhanced, ${summary.skipped} already done, ${summary.failed.length} failed` +
      ` of ${summary.total} in ${summary.seconds < 10 ? `${summary.seconds.toFixed(1)}s` : formatDuration(summary.seconds)} (${summary.inputMegapixels.toFixed(1)} MP in, ${rate.toFixed(2)} MP/s, ${model.provider})`);
    for (const f of summary.failed) log(`  ${show(f.inputPath)}: ${f.error.message} [${f.error.code}]`);
    return summary.aborted ? 130 : summary.failed.length > 0 ? 1 : 0;
  } finally {
    process.off('SIGINT', onSigint);
    await model.release();
  }
}
