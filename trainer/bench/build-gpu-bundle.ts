// npx tsx trainer/bench/build-gpu-bundle.ts [DIR]   (DIR defaults to .gpu)
// Prepares the training benchmark for a GPU machine that has no Node.js and no node_modules:
// ../shared/tools/gpu-carry adds Node, Dawn and the Vulkan loaders; this adds one esbuild bundle of
// bench-train (TF.js, the WebGPU backend and our kernels inside) plus the wasm binaries beside it.
// There:  source DIR/enter.sh && node DIR/bench-train.mjs --backends webgpu --batch 128
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

const root = resolve(import.meta.dirname, '../..');
const dir = resolve(root, process.argv[2] ?? '.gpu');
execFileSync(join(root, '../shared/tools/gpu-carry'), [process.argv[2] ?? '.gpu'], { cwd: root, stdio: 'inherit' });
mkdirSync(dir, { recursive: true });
await build({
  entryPoints: [join(root, 'trainer/bench/bench-train.ts')],
  outfile: join(dir, 'bench-train.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // The native packages are not there: Dawn comes from ENHANCE_DAWN_NODE, the others are optional.
  external: ['webgpu', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'sharp', 'onnxruntime-node'],
  // CommonJS parts (the wasm loader among them) expect require and __dirname.
  banner: { js: "import { createRequire as __cr } from 'node:module'; import { fileURLToPath as __fu } from 'node:url'; " +
    "const require = __cr(import.meta.url); const __filename = __fu(import.meta.url); const __dirname = __filename.replace(/[\\/][^\\/]*$/, '');" },
  logLevel: 'warning',
});
const wasmDir = join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
for (const f of readdirSync(wasmDir).filter((f) => f.endsWith('.wasm'))) copyFileSync(join(wasmDir, f), join(dir, f));
console.log(`bundle: ${join(dir, 'bench-train.mjs')}`);
