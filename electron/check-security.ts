// `npm run check:electron-security`: Electronegativity over the main-process sources and over the
// built bundle (out/main, what actually ships). Fails on any finding of MEDIUM severity or higher,
// and on any file it could not parse (a file it skips is a file it did not check).
//
// Uses the tool's documented programmatic entry rather than its CLI's -o report.csv: the CLI exits
// 0 whatever it finds, and writes the CSV header and rows with two racing async writes.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

interface Finding {
  id: string;
  file: string;
  location: { line: number; column: number };
  sample?: string;
  description: string;
  severity: { name: string; value: number };
  confidence: { name: string };
  /** The tool's "review required": a pattern to look at, not a proven problem. */
  manualReview: boolean;
}
type Run = (options: object) => Promise<{ issues: Finding[]; errors: unknown[] }>;

const require = createRequire(import.meta.url);
const run = require('@doyensec/electronegativity') as Run;
const root = fileURLToPath(new URL('..', import.meta.url));
const electronVersion = (JSON.parse(readFileSync(require.resolve('electron/package.json'), 'utf8')) as { version: string }).version;
const mediumValue = 2;

/**
 * Review prompts (never definite findings) that were looked at. Each names the exact line it
 * accepts, so a second preload or a changed one is reported again.
 */
const reviewed: { id: string; sample: RegExp; why: string }[] = [
  {
    id: 'PRELOAD_JS_CHECK',
    sample: /^\s*preload: preloadPath\d*,$/,
    why: 'the one preload (electron/main/preload.ts) exposes only the API methods, job events, fileUrl and choosePathOfFile through contextBridge; never ipcRenderer or an IpcRendererEvent',
  },
];

// Folders to scan, relative to the repository (tests pass a fixture).
const targets = process.argv.length > 2 ? process.argv.slice(2) : ['electron', 'out/main'];
if (targets.includes('out/main') && !existsSync(new URL('../out/main/main.js', import.meta.url))) {
  console.error('out/main/main.js is missing: run `npm run build:electron` first');
  process.exit(1);
}

let failed = false;
for (const target of targets) {
  const { issues, errors } = await run({
    input: resolve(root, target), isRelative: true, electronVersionOverride: electronVersion, customScan: [], parserPlugins: [],
    // It compares the Electron version in a scanned package.json with the release list it downloads;
    // neither folder has a package.json, so it could only spend time on the network.
    excludeFromScan: ['availablesecurityfixesglobalcheck'],
  });
  console.log(`\n${target}/: ${issues.length} finding(s), ${errors.length} file(s) not parsed`);
  for (const e of errors) {
    failed = true;
    console.log(`  NOT PARSED ${JSON.stringify(e)}`);
  }
  for (const f of issues) {
    const serious = f.severity.value >= mediumValue;
    const accepted = serious && f.manualReview ? reviewed.find((r) => r.id === f.id && r.sample.test(f.sample ?? '')) : undefined;
    const verdict = !serious ? 'ok (below MEDIUM)' : accepted ? `reviewed: ${accepted.why}` : 'FAIL';
    if (verdict === 'FAIL') failed = true;
    console.log(`  ${f.severity.name} ${f.confidence.name}${f.manualReview ? ' review' : ''} ${f.id} ${f.file === 'N/A' ? `${target}/ (whole folder)` : `${target}/${f.file}:${f.location.line}:${f.location.column}`}`);
    console.log(`    ${f.description}${f.sample ? `\n    > ${f.sample.trim()}` : ''}\n    ${verdict}`);
  }
}
console.log(failed ? '\nelectron security check FAILED' : '\nelectron security check passed');
process.exit(failed ? 1 : 0);
