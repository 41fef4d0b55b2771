// npm run bench:infer [-- --quick] [--tile-size PX] [--threads N] [--no-50mp] [--esrgan-photo none|x2|all] [--smoke N] [--keep DIR] [--device cpu|auto|gpu]
// Times file-to-file inference (decode, model, encode; model load excluded) of the default upscale
// models on a synthetic 12 MP photo, a 50 MP one, and Set14 when ../shared/datasets has it, and runs
// UpscalerJS's ESRGAN-slim (devDependency @upscalerjs/esrgan-slim) on the same images with TF.js on
// the fastest backend that works here. On wasm that is one thread and minutes per 12 MP, so on the
// photo it runs at ×2 only unless --esrgan-photo says otherwise (none under --quick). --smoke N: the
// first N Set14 images only, no photos. --keep DIR keeps the upscaled images. --device: our rows'
// ONNX Runtime providers (default cpu; gpu forces the accelerator, e.g. WebGPU). Each row runs in its
// own process so its peak RSS (process.resourceUsage().maxRSS) is its own.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp, { type Sharp } from 'sharp';
import { defaultTileSizePx, enhanceImage } from '../../electron/engine/enhance-image.ts';
import { openModel } from '../../electron/engine/model-catalog.ts';
import type { ProviderChoice } from '../../electron/engine/model-session.ts';

type Engine = 'enhance' | 'esrgan-slim';

interface RowSpec {
  engine: Engine;
  scale: 2 | 4;
  /** Label for the table, e.g. 'photo-12MP' or 'Set14'. */
  image: string;
  paths: string[];
  outDir: string;
  /** Undefined: the engine's default for the scale. */
  tileSizePx?: number;
  threads: number;
  providers: ProviderChoice;
}

interface Row {
  engine: Engine;
  scale: number;
  image: string;
  mpPerSec: number;
  peakRssMB: number;
}

interface RowExtra {
  seconds: number;
  cpuSeconds: number;
  megapixels: number;
  /** ESRGAN-slim's TF.js backend line. */
  backend?: string;
  /** Our rows: the ONNX Runtime execution provider that ran. */
  provider?: string;
}

const self = fileURLToPath(import.meta.url);
const root = fileURLToPath(new URL('../../', import.meta.url));
const set14Dir = join(root, '..', 'shared', 'datasets', 'Set14');

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'tile-size': { type: 'string' },
    threads: { type: 'string' },
    'no-50mp': { type: 'boolean', default: false },
    'esrgan-photo': { type: 'string' },
    smoke: { type: 'string' },
    keep: { type: 'string' },
    row: { type: 'string' },
    device: { type: 'string', default: 'cpu' },
  },
});

/** Runs one row in this process and prints its result as the last stdout line. */
async function runRow(spec: RowSpec): Promise<void> {
  let seconds = 0;
  let cpuSeconds = 0;
  let megapixels = 0;
  let backend: string | undefined;
  let provider: string | undefined;
  const time = async (path: string, work: () => Promise<void>) => {
    const meta = await sharp(path).metadata();
    megapixels += (meta.width * meta.height) / 1e6;
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    await work();
    const c = process.cpuUsage(c0);
    cpuSeconds += (c.user + c.system) / 1e6;
    seconds += (performance.now() - t0) / 1000;
  };
  if (spec.engine === 'enhance') {
    const model = await openModel({ task: 'upscale', scale: spec.scale }, { providers: spec.providers, threads: spec.threads });
    provider = model.provider;
    for (const path of spec.paths) {
      await time(path, async () => {
        await enhanceImage(model, path, join(spec.outDir, `${basename(path)}.png`), { format: 'png', tileSizePx: spec.tileSizePx });
      });
    }
    await model.release();
  } else {
    // Imported here so that TF.js is not in our rows' peak RSS.
    const { selectBackend } = await import('../backends/select-backend.ts');
    const esrgan = await import('./esrgan-slim.ts');
    // esrgan-slim.ts reads synchronously (dataSync), which TF.js WebGPU in Node cannot do (no OffscreenCanvas).
    const selection = await selectBackend(undefined, { exclude: { webgpu: 'esrgan-slim reads synchronously, which WebGPU in Node cannot' } });
    // TF.js keeps wasm to one thread in Node (tfjs#3830), while our rows use `threads`.
    backend = selection.backend === 'wasm' ? `${selection.line}, ${(await import('@tensorflow/tfjs-backend-wasm')).getThreadsCount()} thread` : selection.line;
    const model = await esrgan.loadEsrganSlim(spec.scale);
    esrgan.warmUp(model);
    for (const path of spec.paths) {
      await time(path, () => esrgan.upscaleFile(model, spec.scale, path, join(spec.outDir, `${basename(path)}.png`)));
    }
    model.dispose();
  }
  const row: Row = {
    engine: spec.engine,
    scale: spec.scale,
    image: spec.image,
    mpPerSec: Number((megapixels / seconds).toFixed(4)),
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
  };
  const extra: RowExtra = { seconds: Number(seconds.toFixed(2)), cpuSeconds: Number(cpuSeconds.toFixed(1)), megapixels: Number(megapixels.toFixed(2)), backend, provider };
  process.stdout.write(`${JSON.stringify({ ...row, ...extra })}\n`);
}

/** A photo-like test image: a smooth random field upsampled, with fine grain on top. */
async function synthesise(path: string, widthPx: number, heightPx: number): Promise<string> {
  let base: Sharp;
  const set14 = existsSync(set14Dir) ? (await readdir(set14Dir)).filter((f) => f.endsWith('.png')).sort() : [];
  if (set14.length > 0) {
    // The largest Set14 photo, stretched: real content, not a pattern the model finds trivial.
    const sizes = await Promise.all(set14.map(async (f) => ({ f, px: ((m) => m.width * m.height)(await sharp(join(set14Dir, f)).metadata()) })));
    const biggest = sizes.sort((a, b) => b.px - a.px)[0].f;
    base = sharp(join(set14Dir, biggest)).toColourspace('srgb').resize(widthPx, heightPx, { kernel: 'lanczos3', fit: 'fill' });
  } else {
    const w = 64;
    const h = 48;
    const field = Buffer.alloc(w * h * 3);
    let s = 1;
    for (let i = 0; i < field.length; i++) {
      s = (s * 1103515245 + 12345) % 2147483648;
      field[i] = s % 256;
    }
    base = sharp(field, { raw: { width: w, height: h, channels: 3 } }).resize(widthPx, heightPx, { kernel: 'cubic', fit: 'fill' });
  }
  const smooth = await base.raw().toBuffer();
  const grain = await sharp({ create: { width: widthPx, height: heightPx, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 24 } } })
    .raw()
    .toBuffer();
  await sharp(smooth, { raw: { width: widthPx, height: heightPx, channels: 3 } })
    .composite([{ input: grain, raw: { width: widthPx, height: heightPx, channels: 3 }, blend: 'soft-light' }])
    .jpeg({ quality: 92 })
    .toFile(path);
  return path;
}

function spawnRow(spec: RowSpec): Row & RowExtra {
  // The parent's own flags (tsx's loader under npm run; none for a bundle, as on a GPU machine without node_modules).
  const stdout = execFileSync(process.execPath, [...process.execArgv, self, '--row', JSON.stringify(spec)], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 20,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!);
}

async function main(): Promise<void> {
  const quick = values.quick;
  const tileSizePx = values['tile-size'] === undefined ? undefined : Number(values['tile-size']);
  const threads = Number(values.threads ?? availableParallelism());
  const smoke = values.smoke === undefined ? undefined : Number(values.smoke);
  if (smoke !== undefined && !(Number.isInteger(smoke) && smoke > 0)) throw new Error(`--smoke wants a positive number of images, not ${values.smoke}`);
  const esrganPhoto = values['esrgan-photo'] ?? (quick ? 'none' : 'x2');
  const providers = values.device as RowSpec['providers'];
  if (!['cpu', 'auto', 'gpu'].includes(providers)) throw new Error(`--device is cpu, auto or gpu, not ${values.device}`);
  if (esrganPhoto !== 'none' && esrganPhoto !== 'x2' && esrganPhoto !== 'all') throw new Error(`--esrgan-photo is none, x2 or all, not ${esrganPhoto}`);
  const work = await mkdtemp(join(tmpdir(), 'bench-infer-'));
  try {
    const images: { label: string; paths: string[]; photo: boolean }[] = [];
    if (smoke === undefined) {
      const [pw, ph] = quick ? [1600, 1200] : [4000, 3000];
      images.push({ label: `photo-${Math.round((pw * ph) / 1e6)}MP`, paths: [await synthesise(join(work, 'photo.jpg'), pw, ph)], photo: true });
    }
    if (existsSync(set14Dir)) {
      const files = (await readdir(set14Dir)).filter((f) => f.endsWith('.png')).sort().slice(0, smoke);
      images.push({ label: `Set14 (${files.length})`, paths: files.map((f) => join(set14Dir, f)), photo: false });
    } else if (smoke !== undefined) {
      throw new Error(`--smoke needs Set14 at ${set14Dir}`);
    } else {
      process.stdout.write(`Set14 rows skipped: ${set14Dir} does not exist\n`);
    }
    const big = !quick && !values['no-50mp'] && smoke === undefined ? { label: 'photo-50MP', paths: [await synthesise(join(work, 'photo-50mp.jpg'), 8160, 6120)] } : undefined;

    // Not a top-level import: that would load TF.js into our rows' processes too.
    const esrgan = await import('./esrgan-slim.ts');
    const haveEsrgan = esrgan.esrganSlimDir() !== undefined;
    if (!haveEsrgan) process.stdout.write('esrgan-slim rows skipped: @upscalerjs/esrgan-slim is not installed (npm ci installs it as a devDependency)\n');
    const engines: Engine[] = haveEsrgan ? ['enhance', 'esrgan-slim'] : ['enhance'];
    const specs: RowSpec[] = [];
    if (haveEsrgan && images.some((image) => image.photo) && esrganPhoto !== 'all') {
      process.stdout.write(`esrgan-slim photo rows: ${esrganPhoto === 'x2' ? '×2 only' : 'none'} (--esrgan-photo all: ×2 and ×4, minutes each on wasm)\n`);
    }
    for (const scale of [2, 4] as const) {
      const esrganOnPhoto = esrganPhoto === 'all' || (esrganPhoto === 'x2' && scale === 2);
      for (const image of images) {
        for (const engine of engines) {
          if (engine === 'esrgan-slim' && image.photo && !esrganOnPhoto) continue;
          specs.push({ engine, scale, image: image.label, paths: image.paths, outDir: '', tileSizePx, threads, providers });
        }
      }
    }
    // 50 MP at ×2 is the memory goal (≤ 2 GB); ×4 would be a 200 MP output. Ours only: ESRGAN-slim
    // would take about four times as long as on 12 MP.
    if (big) specs.push({ engine: 'enhance', scale: 2, image: big.label, paths: big.paths, outDir: '', tileSizePx, threads, providers });

    const rows: Row[] = [];
    let esrganBackend: string | undefined;
    let provider: string | undefined;
    process.stdout.write(`${'engine'.padEnd(12)} ${'scale'.padEnd(5)} ${'image'.padEnd(12)} ${'MP in'.padStart(7)} ${'seconds'.padStart(8)} ${'CPU s'.padStart(7)} ${'MP/s'.padStart(7)} ${'peak RSS MB'.padStart(11)}\n`);
    for (const [i, spec] of specs.entries()) {
      const outDir = values.keep ? join(values.keep, `${i}-${spec.engine}-x${spec.scale}`) : join(work, `out-${i}`);
      await mkdir(outDir, { recursive: true });
      const r = spawnRow({ ...spec, outDir });
      if (!values.keep) await rm(outDir, { recursive: true, force: true });
      esrganBackend ??= r.backend;
      provider ??= r.provider;
      rows.push({ engine: r.engine, scale: r.scale, image: r.image, mpPerSec: r.mpPerSec, peakRssMB: r.peakRssMB });
      process.stdout.write(`${r.engine.padEnd(12)} ${`×${r.scale}`.padEnd(5)} ${r.image.padEnd(12)} ${r.megapixels.toFixed(1).padStart(7)} ${r.seconds.toFixed(1).padStart(8)} ${r.cpuSeconds.toFixed(0).padStart(7)} ${r.mpPerSec.toFixed(3).padStart(7)} ${String(r.peakRssMB).padStart(11)}\n`);
    }
    // CPU seconds show how much of the machine a row got when other work shares it.
    process.stdout.write(`tile ${tileSizePx ?? `${defaultTileSizePx(2)} (×4: ${defaultTileSizePx(4)})`} px, ${threads} ORT threads, ${provider ?? providers} execution provider, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
    if (esrganBackend) process.stdout.write(`esrgan-slim: TF.js ${esrganBackend}; ${esrgan.patchSizePx} px patches with ${esrgan.paddingPx} px padding\n`);
    process.stdout.write(`${JSON.stringify({ bench: 'infer', rows })}\n`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (values.row) await runRow(JSON.parse(values.row) as RowSpec);
else await main();
