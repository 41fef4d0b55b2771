// Builds the Electron main process, its preload and the worker entries into out/main/, flat: the
// job runner and the trainer find their workers as sibling `.js` files (trainer/worker-url.ts).
// Packages stay external (native modules and their loaders must be loaded from node_modules);
// only the sandboxed preload is fully bundled, since it may require nothing but 'electron'.
import { build, type BuildOptions } from 'esbuild';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = 'out/main';

const node: BuildOptions = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  target: 'node22',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
};

rmSync(new URL(`../${outdir}`, import.meta.url), { recursive: true, force: true });
// esbuild has already printed what failed; its stack trace would add nothing.
await Promise.all([
  build({
    ...node,
    format: 'esm',
    outdir,
    entryPoints: {
      main: 'electron/main/main.ts',
      'job-worker': 'electron/jobs/job-worker.ts',
      'grad-worker': 'trainer/fit/grad-worker.ts',
    },
  }),
  build({
    ...node,
    packages: undefined,
    external: ['electron'],
    platform: 'browser',
    format: 'cjs',
    // All of zod comes along with common/api.ts; minified it is a third of the size.
    minify: true,
    entryPoints: { preload: 'electron/main/preload.ts' },
    outExtension: { '.js': '.cjs' },
    outdir,
  }),
]).catch(() => process.exit(1));
