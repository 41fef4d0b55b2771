// ONNX Runtime's WebGPU provider against its CPU provider, on whatever adapter is here: under CI
// that is Mesa's lavapipe (a software Vulkan driver, see README "GPU"), which 'auto' must not pick.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { ModelManifest } from '../common/model-manifest.ts';
import { probeWebGpuAdapter } from '../electron/engine/gpu-adapter.ts';
import { defaultModelsDir } from '../electron/engine/model-catalog.ts';
import { type EngineModel, loadModel } from '../electron/engine/model-session.ts';
import { planTiles, type RawImage, runTiled, tilePlanOptions } from '../electron/engine/tiling.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const adapter = await probeWebGpuAdapter();
const noAdapter = adapter.found ? false : `no WebGPU adapter (${adapter.why}); install Mesa ≥ 24's lavapipe, see README "GPU"`;

/** A smooth pattern with per-pixel texture, so both context and detail reach the network. */
function pattern(widthPx: number, heightPx: number): RawImage {
  const data = new Uint8Array(widthPx * heightPx * 3);
  let s = 7;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const p = i / 3;
    const v = 128 + 90 * Math.sin((p % widthPx) / (7 + (i % 3) * 3) + Math.floor(p / widthPx) / 11) + 30 * (s / 2147483648 - 0.5);
    data[i] = Math.max(0, Math.min(255, Math.round(v)));
  }
  return { data, widthPx, heightPx, channels: 3 };
}

/** The network's float output over `image` (planar, output size), tile by tile, and how many tiles. */
async function floatRun(m: EngineModel, image: RawImage, tileSizePx: number): Promise<{ out: Float32Array; tiles: number }> {
  const d = m.descriptor;
  const scale = d.resolution === 'pre-upsampled' ? 1 : d.scale;
  const ow = image.widthPx * scale;
  const plane = ow * image.heightPx * scale;
  const out = new Float32Array(plane * d.outChannels);
  let tiles = 0;
  await runTiled(m, image, scale, { tileSizePx, onTile: () => tiles++ }, (o, core) => {
    const [, ch, h, w] = o.dims;
    for (let k = 0; k < ch; k++) {
      for (let y = 0; y < core.heightPx; y++) {
        for (let x = 0; x < core.widthPx; x++) out[k * plane + (core.toYPx + y) * ow + core.toXPx + x] = o.data[k * h * w + (core.fromYPx + y) * w + core.fromXPx + x];
      }
    }
  });
  return { out, tiles };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test('forced WebGPU gives the CPU output within 1e-4 for every shipped model, tiled and untiled', { skip: noAdapter }, async (t) => {
  const manifest = JSON.parse(await readFile(join(defaultModelsDir, 'manifest.json'), 'utf8')) as ModelManifest;
  assert.ok(manifest.models.length > 0);
  for (const entry of manifest.models) {
    await t.test(entry.id, async (st) => {
      // One read for both sessions: a training run may rewrite the file meanwhile.
      const bytes = await readFile(join(defaultModelsDir, entry.file));
      const notices: string[] = [];
      const gpu = await loadModel(bytes, { providers: 'gpu', onNotice: (line) => notices.push(line) });
      const cpu = await loadModel(bytes, { providers: 'cpu', threads: 2 });
      try {
        assert.equal(gpu.provider, 'webgpu', notices.join('\n'));
        const d = gpu.descriptor;
        // The smallest tiles the model allows, rounded to 16 px: every U-Net level then has an even
        // size, and the software adapter compiles no extra shader variants (tens of seconds each).
        const tiledPx = Math.ceil((2 * tilePlanOptions(d, 4096).contextPx + d.sizeMultiplePx) / 16) * 16;
        // Small enough for a software adapter, wide enough that those tiles make several.
        const image = pattern(Math.max(128, tiledPx + 32), 96);
        for (const [label, tileSizePx] of [['untiled', 4096], [`tiled (${tiledPx} px)`, tiledPx]] as const) {
          const expectTiles = planTiles(image.widthPx, image.heightPx, tilePlanOptions(d, tileSizePx)).length;
          assert.ok(label === 'untiled' ? expectTiles === 1 : expectTiles > 1, `${label}: ${expectTiles} tiles`);
          const [g, c] = [await floatRun(gpu, image, tileSizePx), await floatRun(cpu, image, tileSizePx)];
          assert.equal(g.tiles, expectTiles);
          const diff = maxAbsDiff(g.out, c.out);
          st.diagnostic(`${label}: ${g.tiles} tile(s), max |WebGPU − CPU| ${diff.toExponential(1)}`);
          assert.ok(diff <= 1e-4, `${entry.id} ${label}: WebGPU differs from CPU by ${diff}`);
        }
      } finally {
        await gpu.release();
        await cpu.release();
      }
    });
  }
});

test("'auto' skips a software adapter with one line and runs on the CPU", { skip: noAdapter || (adapter.found && !adapter.software && `the adapter is a GPU (${adapter.label})`) }, async () => {
  const manifest = JSON.parse(await readFile(join(defaultModelsDir, 'manifest.json'), 'utf8')) as ModelManifest;
  const notices: string[] = [];
  const m = await loadModel(join(defaultModelsDir, manifest.models[0].file), { providers: 'auto', threads: 2, onNotice: (line) => notices.push(line) });
  await m.release();
  assert.equal(m.provider, 'cpu');
  const software = adapter.found ? adapter.software : '';
  assert.ok(notices.includes(`enhance: webgpu execution provider skipped: software adapter (${software}), slower than the CPU; --device gpu forces it`), notices.join('\n'));
});

/** Runs `node --import tsx <args>` from the repository root and collects its exit code and stderr. */
function node(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  return new Promise((res) => child.on('exit', (code) => res({ code, stderr })));
}

/** A 40×32 PNG in a new temp folder, and `enhance upscale` on it with extra args and environment. */
async function cliOnTinyPhoto(): Promise<{ dir: string; upscale: (args: string[], env?: NodeJS.ProcessEnv) => ReturnType<typeof node> }> {
  const dir = await mkdtemp(join(tmpdir(), 'engine-webgpu-'));
  const input = join(dir, 'in.png');
  await sharp({ create: { width: 40, height: 32, channels: 3, background: '#7a5c3e', noise: { type: 'gaussian', mean: 120, sigma: 30 } } }).png().toFile(input);
  return { dir, upscale: (args, env) => node([join(root, 'cli/enhance.ts'), 'upscale', input, '--out', join(dir, 'out'), '--threads', '2', ...args], env) };
}

test("without any adapter, 'gpu' fails with the reason and 'auto' quietly runs on the CPU", { skip: process.platform !== 'linux' && 'hides the Vulkan drivers, Linux only' }, async () => {
  // The Vulkan loader reads only the drivers VK_ICD_FILENAMES lists: none, so no adapter at all.
  const env = { ...process.env, VK_ICD_FILENAMES: '/nonexistent/icd.json', VK_DRIVER_FILES: '/nonexistent/icd.json' };
  const script = `
    import { loadModel } from './electron/engine/model-session.ts';
    const model = 'resources/models/' + JSON.parse(await (await import('node:fs/promises')).readFile('resources/models/manifest.json', 'utf8')).models[0].file;
    const notices = [];
    const auto = await loadModel(model, { providers: 'auto', threads: 1, onNotice: (l) => notices.push(l) });
    console.error('auto:', auto.provider, JSON.stringify(notices));
    await loadModel(model, { providers: 'gpu', onNotice: () => {} }).then(() => console.error('gpu: loaded'), (e) => console.error('gpu:', e.code, e.message));
  `;
  const r = await node(['--input-type=module', '-e', script], env);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^auto: cpu \[\]$/m);
  assert.match(r.stderr, /^gpu: not-available no GPU execution provider could start \((cuda: .*; )?webgpu: .*adapter.*\)$/m);

  const { dir, upscale } = await cliOnTinyPhoto();
  try {
    const gpu = await upscale(['--device', 'gpu'], env);
    assert.equal(gpu.code, 2, gpu.stderr);
    assert.match(gpu.stderr, /no GPU execution provider could start/);
    const bad = await upscale(['--device', 'tpu']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--device must be auto, gpu or cpu, not 'tpu'/);
    const both = await upscale(['--cpu', '--device', 'gpu']);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--cpu contradicts --device gpu/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('enhance upscale --device gpu runs where an adapter is; --device auto says why it skips a software one', { skip: noAdapter }, async () => {
  const { dir, upscale } = await cliOnTinyPhoto();
  try {
    const gpu = await upscale(['--device', 'gpu']);
    assert.equal(gpu.code, 0, gpu.stderr);
    assert.doesNotMatch(gpu.stderr, /execution provider (skipped|unavailable)/);
    assert.equal((await sharp(join(dir, 'out', 'in.png')).metadata()).width, 80);
    if (adapter.found && adapter.software) {
      await rm(join(dir, 'out'), { recursive: true });
      const auto = await upscale(['--device', 'auto']);
      assert.equal(auto.code, 0, auto.stderr);
      assert.match(auto.stderr, /webgpu execution provider skipped: software adapter/);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
