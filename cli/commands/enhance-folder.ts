// `enhance upscale|decrappify|colorize IN --out DIR`: the batch front end over electron/engine.
import { availableParallelism, constants as osConstants } from 'node:os';
import { relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { BatchResult } from '../../common/jobs.ts';
import type { Task } from '../../common/model-descriptor.ts';
import { defaultTileSizePx, removeTempFilesNow } from '../../electron/engine/enhance-image.ts';
import { defaultPixelLimit, type OutputFormat, outputFormats } from '../../electron/engine/image-io.ts';
import type { ProviderChoice } from '../../electron/engine/model-session.ts';
import { JobRunner } from '../../electron/jobs/runner.ts';
import { bar, formatDuration, ProgressLine } from '../progress-line.ts';
import { deviceOption, UsageError } from '../usage.ts';

/** Upper bounds of the numeric options, each one a value that works (tested at the bound). */
const maxQuality = 100;
const maxJobs = 64;
/** One 2048 px tile of the shipped ×2 model: 2.2 GB peak RSS (measured); larger tiles only cost memory. */
const maxTileSizePx = 2048;
/** An RGB input of 1000 MP still fits one image buffer (4 GiB) at ×1; the engine says so per photo beyond it. */
const maxMegapixels = 1000;
/** ONNX Runtime's intra-op threads spin while they wait: more than the cores only slows it down (20 s to start 256 on 2 cores). */
const maxThreads = availableParallelism();

const what: Record<Task, string> = {
  upscale: 'Upscales photos ×2 or ×4.',
  decrappify: 'Removes JPEG artifacts.',
  colorize: 'Colorizes black-and-white photos (keeps their own luminance).',
};

function helpFor(task: Task): string {
  return `usage: enhance ${task} IN --out DIR [options]

${what[task]} IN is a folder of photos or one photo. Outputs keep their names (and, with
--recursive, their subfolders) under DIR, which may not hold an input's own path. Rerunning skips
the outputs it finished (listed in DIR/.enhance-journal), so an interrupted run resumes where it
stopped; any other file at an output's name is reported, never overwritten. Ctrl-C (or SIGTERM,
SIGHUP) stops after the current tile and leaves no partial files; a second one quits at once.
16-bit photos stay 16-bit in PNG and TIFF; jpeg, webp and avif hold 8 bits.
${task === 'upscale' ? '\n  --scale N           2 or 4 (default 2, or the --model\'s scale)' : ''}
  --out DIR           output folder (created)
  --model FILE        an .onnx model (default: the installed one for the task${task === 'upscale' ? ' and scale' : ''})
  --format F          same (default), png, jpeg, webp, avif or tiff
  --quality Q         1-${maxQuality} for jpeg, webp and avif (default 90, avif 70)
  --recursive         include subfolders, mirrored under DIR
  --jobs N            photos in flight at once, 1-${maxJobs} (default 1); they share the model
  --tile-size PX      largest tile side fed to the model, up to ${maxTileSizePx} (default ${defaultTileSizePx(2)}, ×4: ${defaultTileSizePx(4)}); smaller uses less memory
  --self-ensemble     best quality: average the model over 8 rotations and mirrors of every
                      tile (8× the time; ×2 Set5 +0.2 dB)
  --max-megapixels N  refuse larger inputs, 1-${maxMegapixels} (default ${(defaultPixelLimit / 1e6).toFixed(0)})
  --threads N         ONNX Runtime threads, at most the ${maxThreads} cores here (default all)
  --device D          auto (default: a GPU when one works, never a software one), gpu (fail
                      without a GPU; uses a software adapter such as lavapipe) or cpu
  --cpu               the same as --device cpu

Exit status: 0 all done, 1 some photos failed (listed), 2 usage or model error, 128 + the signal's
number when stopped by one (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP).
`;
}

function positiveInt(name: string, text: string | undefined, fallback: number, max: number): number {
  if (text === undefined) return fallback;
  const v = /^[0-9]+$/.test(text) ? Number(text) : Number.NaN;
  if (!(v >= 1 && v <= max)) throw new UsageError(`${name} must be a whole number from 1 to ${max}, not '${text}'`);
  return v;
}

export function command(task: Task): { run(argv: string[]): Promise<number> } {
  return { run: (argv) => run(task, argv) };
}

async function run(task: Task, argv: string[]): Promise<number> {
  const name = `enhance ${task}`;
  const log = (line: string) => process.stderr.write(`${line}\n`);
  let values;
  let input: string;
  let options;
  let providers: ProviderChoice;
  try {
    const parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        out: { type: 'string' }, scale: { type: 'string' }, model: { type: 'string' }, format: { type: 'string', default: 'same' },
        quality: { type: 'string' }, recursive: { type: 'boolean', default: false }, jobs: { type: 'string' },
        'tile-size': { type: 'string' }, 'self-ensemble': { type: 'boolean', default: false }, 'max-megapixels': { type: 'string' }, threads: { type: 'string' },
        device: { type: 'string' }, cpu: { type: 'boolean', default: false }, help: { type: 'boolean', default: false },
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
      quality: values.quality === undefined ? undefined : positiveInt('--quality', values.quality, 90, maxQuality),
      jobs: positiveInt('--jobs', values.jobs, 1, maxJobs),
      tileSizePx: values['tile-size'] === undefined ? undefined : positiveInt('--tile-size', values['tile-size'], 0, maxTileSizePx),
      pixelLimit: Math.round(positiveInt('--max-megapixels', values['max-megapixels'], defaultPixelLimit / 1e6, maxMegapixels) * 1e6),
      threads: positiveInt('--threads', values.threads, availableParallelism(), maxThreads),
      recursive: values.recursive,
      selfEnsemble: values['self-ensemble'],
    };
    providers = deviceOption(values.device, values.cpu);
  } catch (e) {
    if (!(e instanceof UsageError) && (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') !== true) throw e;
    log(`${name}: ${(e as Error).message}\n\n${helpFor(task)}`);
    return 2;
  }

  const inRoot = resolve(input);
  const show = (path: string) => {
    const rel = relative(inRoot, path);
    return rel && !rel.startsWith('..') ? rel : path;
  };
  // The CLI only parses and prints: the batch is the app's own job, run in this process.
  const runner = new JobRunner({ mode: 'in-process' });
  const line = new ProgressLine();
  runner.onEvent((e) => {
    if (e.type === 'log') line.log(e.message);
    else if (e.type === 'file' && e.file.status === 'failed') line.log(`failed  ${show(e.file.input)}: ${e.file.error?.message} [${e.file.error?.code}]`);
    else if (e.type === 'progress') {
      const p = e.progress;
      line.update(`${bar(p.fraction)} ${p.filesDone}/${p.filesTotal} files  ETA ${formatDuration(p.etaSeconds ?? Number.NaN)}  ${(p.current ?? []).map(show).join(', ')}`);
    }
  });
  const jobId = runner.start('batch', {
    input, output: values.out, task, modelId: values.model ?? 'default', modelPath: values.model,
    scale: values.scale === undefined ? undefined : (Number(values.scale) as 2 | 4),
    ...options, providers,
  }, `${name} ${input}`);

  // Every stop signal cancels the job, which stops after the current tile and removes its temp
  // files; a second one quits at once, removing the temp files being written first.
  let stoppedBy: NodeJS.Signals | undefined;
  const exitCode = (signal: NodeJS.Signals) => 128 + osConstants.signals[signal];
  const onSignal = (signal: NodeJS.Signals) => {
    // After a hangup the terminal is gone; writing to it must not crash the clean stop.
    if (signal === 'SIGHUP') process.stderr.on('error', () => {});
    if (stoppedBy) {
      removeTempFilesNow();
      process.exit(exitCode(stoppedBy));
    }
    stoppedBy = signal;
    runner.cancel(jobId);
    line.log(`${name}: stopping after the current tile (${signal === 'SIGINT' ? 'Ctrl-C' : signal} again to quit at once)`);
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);
  try {
    const info = await runner.wait(jobId);
    line.done();
    if (info.status === 'failed') {
      // The batch could not start: a usage, path or model error (one line), or a bug (internal).
      const e = info.error!;
      log(`${name}: ${e.path && !e.message.includes(e.path) ? `${e.path}: ` : ''}${e.message}`);
      return e.code === 'internal' ? 1 : 2;
    }
    const summary = info.result as BatchResult;
    const rate = summary.seconds > 0 ? summary.inputMegapixels / summary.seconds : 0;
    log(`${summary.cancelled ? 'interrupted: ' : ''}${summary.enhanced} enhanced, ${summary.skipped} already done, ${summary.failed.length} failed` +
      ` of ${summary.total} in ${summary.seconds < 10 ? `${summary.seconds.toFixed(1)}s` : formatDuration(summary.seconds)} (${summary.inputMegapixels.toFixed(1)} MP in, ${rate.toFixed(2)} MP/s on ${summary.provider})`);
    for (const f of summary.failed) log(`  ${show(f.input)}: ${f.error.message} [${f.error.code}]`);
    return summary.cancelled ? exitCode(stoppedBy ?? 'SIGINT') : summary.failed.length > 0 ? 1 : 0;
  } finally {
    for (const s of signals) process.off(s, onSignal);
  }
}
