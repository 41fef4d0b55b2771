// Which code may import what: the renderer and common/ run in a sandboxed page (no Node, no
// native modules), only the Electron shell touches `electron`, and the inference engine and the
// trainer stay independent. A regex scan of import specifiers is enough to guard that.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { posix } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

interface SourceFile {
  /** Repository-relative, with forward slashes. */
  path: string;
  text: string;
}

const root = fileURLToPath(new URL('..', import.meta.url));
const scannedDirs = ['common', 'renderer', 'electron', 'trainer', 'cli', 'bin'];
const builtins = new Set(builtinModules);
const nodeOnlyPackages = ['electron', 'sharp', 'onnxruntime-node', 'webgpu'];

/** Comments removed, so a doc comment that mentions an import is not one. `//` after a colon is a URL. */
function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\/|(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

function importSpecifiers(text: string): string[] {
  const code = stripComments(text);
  const patterns = [
    /\b(?:import|export)\s+(?:[\w*{}\s,$]+?\s+from\s+)?['"]([^'"\n]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"\n]+)['"]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"\n]+)['"]\s*\)/g,
  ];
  return patterns.flatMap((re) => [...code.matchAll(re)].map((m) => m[1]));
}

const isPackage = (spec: string, name: string) => spec === name || spec.startsWith(`${name}/`);
const isNodeBuiltin = (spec: string) => spec.startsWith('node:') || builtins.has(spec);

function importViolations(files: SourceFile[]): string[] {
  const found: string[] = [];
  for (const file of files) {
    const inPage = file.path.startsWith('common/') || file.path.startsWith('renderer/');
    for (const spec of importSpecifiers(file.text)) {
      const target = spec.startsWith('.') ? posix.normalize(posix.join(posix.dirname(file.path), spec)) : null;
      const report = (why: string) => found.push(`${file.path} imports '${spec}': ${why}`);
      if (inPage && isNodeBuiltin(spec)) report('common/ and renderer/ run in the page, which has no Node');
      if (inPage && (nodeOnlyPackages.some((p) => isPackage(spec, p)) || spec.startsWith('@tensorflow/'))) report('common/ and renderer/ may not use Node-only packages');
      if (isPackage(spec, 'electron') && !file.path.startsWith('electron/main/')) report('only electron/main/ may import electron');
      if (target?.startsWith('trainer/') && file.path.startsWith('electron/engine/')) report('the engine does not depend on the trainer');
      if (target?.startsWith('electron/engine/') && file.path.startsWith('trainer/')) report('the trainer does not depend on the engine');
    }
  }
  return found;
}

function repoSources(): SourceFile[] {
  const files: SourceFile[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(`${root}${dir}`, { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      // Benchmarks and tests are tooling; *.config.ts (Vite) runs in Node at build time.
      if (entry.isDirectory()) {
        if (!['bench', 'tests', 'node_modules'].includes(entry.name)) walk(path);
      } else if (/\.(ts|svelte|js)$/.test(entry.name) && !/\.config\.ts$/.test(entry.name)) {
        files.push({ path, text: readFileSync(`${root}${path}`, 'utf8') });
      }
    }
  };
  for (const dir of scannedDirs) walk(dir);
  return files;
}

test('the checker reports each kind of forbidden import and nothing allowed', () => {
  const fake: SourceFile[] = [
    { path: 'common/a.ts', text: "import { readFileSync } from 'node:fs';\nimport { z } from 'zod';\n// import { app } from 'electron' in a comment is fine\n" },
    { path: 'renderer/lib/b.svelte', text: "<script lang=\"ts\">\n  import {\n    join,\n  } from 'path';\n  const tf = await import('@tensorflow/tfjs-core');\n</script>" },
    { path: 'renderer/lib/c.ts', text: "export { default } from 'sharp';" },
    { path: 'electron/api/d.ts', text: "import type { App } from 'electron';" },
    { path: 'electron/main/e.ts', text: "import { app } from 'electron';\nimport { join } from 'node:path';" },
    { path: 'electron/engine/f.ts', text: "import { seeded } from '../../trainer/rng.ts';\nimport { x } from '../../common/color.ts';" },
    { path: 'trainer/fit/g.ts', text: "const tiling = require('../../electron/engine/tiling.ts');\nimport { y } from '../../electron/jobs/eta.ts';" },
  ];
  assert.deepEqual(importViolations(fake), [
    "common/a.ts imports 'node:fs': common/ and renderer/ run in the page, which has no Node",
    "renderer/lib/b.svelte imports 'path': common/ and renderer/ run in the page, which has no Node",
    "renderer/lib/b.svelte imports '@tensorflow/tfjs-core': common/ and renderer/ may not use Node-only packages",
    "renderer/lib/c.ts imports 'sharp': common/ and renderer/ may not use Node-only packages",
    "electron/api/d.ts imports 'electron': only electron/main/ may import electron",
    "electron/engine/f.ts imports '../../trainer/rng.ts': the engine does not depend on the trainer",
    "trainer/fit/g.ts imports '../../electron/engine/tiling.ts': the trainer does not depend on the engine",
  ]);
});

test('the repository keeps the import rules', () => {
  const files = repoSources();
  assert.ok(files.some((f) => f.path === 'electron/main/main.ts') && files.some((f) => f.path.startsWith('common/')), 'the scan found the sources');
  assert.deepEqual(importViolations(files), []);
});
