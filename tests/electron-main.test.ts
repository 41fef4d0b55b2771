// The Electron shell under plain Node (its binary cannot run here): the enhance-file: protocol's
// answers, which page counts as the app's own, the window's security settings as written, the
// build's output (a worker bundle runs a real job) and the packaging config against
// electron-builder's own schema.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Script } from 'node:vm';
import { Worker } from 'node:worker_threads';
import sharp from 'sharp';
import ts from 'typescript';
import { fileProtocol } from '../common/bridge.ts';
import { PathGuard } from '../electron/services/path-guard.ts';
import { answerFileRequest, pathOfFileUrl } from '../electron/main/file-request.ts';
import { appPage, devServerUrl } from '../electron/main/app-page.ts';
import type { WorkerMessage } from '../electron/jobs/runner.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);
let dir: string;
let chosen: string;
let outside: string;
let guard: PathGuard;

/** What the preload's fileUrl() builds (the preload itself needs Electron). */
const fileUrl = (path: string) => `${fileProtocol}://file/?path=${encodeURIComponent(path)}`;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'enhance-electron-main-'));
  chosen = join(dir, 'chosen # folder?&');
  outside = join(dir, 'outside');
  await mkdir(chosen);
  await mkdir(outside);
  const image = sharp({ create: { width: 12, height: 8, channels: 3, background: { r: 200, g: 40, b: 10 } } });
  await image.clone().png().toFile(join(chosen, 'photo.png'));
  await image.clone().jpeg().toFile(join(chosen, 'é photo.jpg'));
  await image.clone().tiff().toFile(join(chosen, 'scan.tif'));
  await writeFile(join(chosen, 'notes.txt'), 'not an image');
  await image.clone().png().toFile(join(outside, 'secret.png'));
  await symlink(join(outside, 'secret.png'), join(chosen, 'link.png'));
  guard = new PathGuard();
  guard.allowFolder(chosen, ['read']);
  guard.allowFile(join(outside, 'save-target.png'), ['write']);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('file requests: chosen images are served as they are, with their type', async () => {
  const png = await answerFileRequest(guard, fileUrl(join(chosen, 'photo.png')));
  assert.equal(png.status, 200);
  assert.equal(png.contentType, 'image/png');
  assert.deepEqual(Buffer.from(png.body), await readFile(join(chosen, 'photo.png')));
  const jpeg = await answerFileRequest(guard, fileUrl(join(chosen, 'é photo.jpg')));
  assert.equal(jpeg.status, 200);
  assert.equal(jpeg.contentType, 'image/jpeg');
});

test('file requests: TIFF, which Chromium cannot show, arrives as PNG', async () => {
  const tiff = await answerFileRequest(guard, fileUrl(join(chosen, 'scan.tif')));
  assert.equal(tiff.status, 200);
  assert.equal(tiff.contentType, 'image/png');
  const meta = await sharp(Buffer.from(tiff.body)).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height], ['png', 12, 8]);
});

test('file requests: paths outside the chosen ones are refused, symlinks resolved', async () => {
  for (const path of [join(outside, 'secret.png'), join(chosen, 'link.png'), join(chosen, '..', 'outside', 'secret.png'), join(outside, 'save-target.png'), 'relative/photo.png']) {
    const answer = await answerFileRequest(guard, fileUrl(path));
    assert.equal(answer.status, 403, path);
    assert.match(String(answer.body), /outside the folders you chose|must be absolute/);
  }
});

test('file requests: malformed URLs are 400, missing files 404, non-images 415', async () => {
  for (const url of ['not a url', `${fileProtocol}://file/`, `${fileProtocol}://file/?path=`, `${fileProtocol}://other/?path=${encodeURIComponent(join(chosen, 'photo.png'))}`,
    `https://file/?path=${encodeURIComponent(join(chosen, 'photo.png'))}`, `${fileProtocol}://file/?path=${encodeURIComponent(`${join(chosen, 'photo.png')}\0`)}`]) {
    assert.equal((await answerFileRequest(guard, url)).status, 400, url);
  }
  assert.equal((await answerFileRequest(guard, fileUrl(join(chosen, 'gone.png')))).status, 404);
  assert.equal((await answerFileRequest(guard, fileUrl(chosen))).status, 404);
  const text = await answerFileRequest(guard, fileUrl(join(chosen, 'notes.txt')));
  assert.equal(text.status, 415);
  assert.match(String(text.body), /notes\.txt: the file is not an image/);
});

test('file URLs round-trip any path, including #, ? and & in folder names', () => {
  const path = join(chosen, 'é photo.jpg');
  assert.equal(pathOfFileUrl(fileUrl(path)), path);
});

test('the app page: its own index.html (any hash or query), nothing else', () => {
  const index = join(dir, 'out', 'renderer', 'index.html');
  const page = appPage(index, null);
  assert.equal(page.url, pathToFileURL(index).href);
  assert.ok(page.owns(`${page.url}#/batch`));
  assert.ok(page.owns(`${page.url}?view=models`));
  assert.ok(!page.owns(pathToFileURL(join(dir, 'out', 'renderer', 'other.html')).href));
  assert.ok(!page.owns(pathToFileURL(join(chosen, 'photo.png')).href));
  assert.ok(!page.owns('https://example.com/out/renderer/index.html'));
  assert.ok(!page.owns('garbage'));
});

test('a development server is used only on http://localhost:<port>', () => {
  assert.equal(devServerUrl('http://localhost:5173/')?.origin, 'http://localhost:5173');
  for (const url of [undefined, '', 'https://localhost:5173', 'http://localhost', 'http://example.com:5173', 'http://localhost.evil.com:5173', 'http://user@localhost:5173', 'file:///tmp/index.html']) {
    assert.equal(devServerUrl(url), null, String(url));
  }
  const page = appPage('/x/index.html', devServerUrl('http://localhost:5173/'));
  assert.ok(page.owns('http://localhost:5173/#/models'));
  assert.ok(!page.owns('http://localhost:5174/'));
  assert.ok(!page.owns('file:///x/index.html'));
});

/** The properties of `new BrowserWindow({ webPreferences: { … } })` in window.ts, as source text. */
function webPreferencesOf(source: string): Map<string, string> {
  const file = ts.createSourceFile('window.ts', source, ts.ScriptTarget.Latest, true);
  const found = new Map<string, string>();
  const visit = (node: ts.Node): void => {
    if (ts.isNewExpression(node) && node.expression.getText() === 'BrowserWindow') {
      const options = node.arguments?.[0];
      assert.ok(options && ts.isObjectLiteralExpression(options), 'BrowserWindow gets an object literal');
      const prefs = options.properties.find((p) => p.name?.getText() === 'webPreferences');
      assert.ok(prefs && ts.isPropertyAssignment(prefs) && ts.isObjectLiteralExpression(prefs.initializer), 'webPreferences is an object literal');
      for (const p of prefs.initializer.properties) {
        assert.ok(ts.isPropertyAssignment(p), `webPreferences has only plain properties (${p.getText()})`);
        assert.ok(!found.has(p.name.getText()), `${p.name.getText()} is set once`);
        found.set(p.name.getText(), p.initializer.getText());
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

test('window.ts keeps the window isolated, sandboxed and without Node', () => {
  const source = readFileSync(join(root, 'electron/main/window.ts'), 'utf8');
  const prefs = webPreferencesOf(source);
  const expected = {
    contextIsolation: 'true', sandbox: 'true', nodeIntegration: 'false', nodeIntegrationInWorker: 'false', nodeIntegrationInSubFrames: 'false',
    webSecurity: 'true', allowRunningInsecureContent: 'false', experimentalFeatures: 'false', webviewTag: 'false',
  };
  for (const [key, value] of Object.entries(expected)) assert.equal(prefs.get(key), value, key);
  assert.match(source, /setWindowOpenHandler\(\(\) => \(\{ action: 'deny' \}\)\)/);
  assert.match(source, /on\('will-navigate', \(event, url\) => \{\s*if \(!page\.owns\(url\)\) event\.preventDefault\(\);/);
  assert.match(source, /on\('will-attach-webview', \(event\) => event\.preventDefault\(\)\)/);
  assert.match(source, /setPermissionRequestHandler\(\([^)]*\) => callback\(false\)\)/);
  assert.match(source, /setPermissionCheckHandler\(\(\) => false\)/);
  // The header and the renderer's meta tag carry the same policy.
  const csp = /'Content-Security-Policy': \["([^"]+)"\]/.exec(source)?.[1];
  assert.equal(csp, "default-src 'self'; img-src 'self' blob: data: enhance-file:; style-src 'self' 'unsafe-inline'; connect-src 'self'; object-src 'none'; base-uri 'none'");
});

test('the build: flat out/main, a CommonJS preload that requires only electron, workers that run', async () => {
  execFileSync(process.execPath, ['--import', 'tsx', 'electron/build.ts'], { cwd: root, stdio: 'inherit' });
  const out = join(root, 'out', 'main');
  for (const f of ['main.js', 'preload.cjs', 'job-worker.js', 'grad-worker.js']) assert.ok(existsSync(join(out, f)), f);
  assert.equal((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { main: string }).main, 'out/main/main.js');

  const preload = readFileSync(join(out, 'preload.cjs'), 'utf8');
  assert.doesNotThrow(() => new Script(preload, { filename: 'preload.cjs' }), 'the preload is a classic script');
  assert.deepEqual([...new Set([...preload.matchAll(/\brequire\(([^)]*)\)/g)].map((m) => m[1]))], ['"electron"']);
  assert.match(preload, /exposeInMainWorld\("enhance"/);

  // Packages stay in node_modules: esbuild marks each bundled file with a `// path` comment.
  for (const f of ['main.js', 'job-worker.js', 'grad-worker.js']) {
    const code = readFileSync(join(out, f), 'utf8');
    assert.doesNotMatch(code, /^\/\/ node_modules\//m, `${f} bundles no package`);
  }
  assert.match(readFileSync(join(out, 'main.js'), 'utf8'), /from "electron"/);

  // The bundled job worker, under plain Node, runs a real ×2 upscale with the shipped model.
  const input = join(chosen, 'photo.png');
  const resultsDir = join(dir, 'results');
  const worker = new Worker(join(out, 'job-worker.js'), {
    workerData: { kind: 'enhance-photo', options: { input, task: 'upscale', scale: 2, resultsDir, modelId: 'upscale-x2', modelsDir: join(root, 'resources', 'models'), providers: 'cpu', threads: 1 } },
  });
  const messages: WorkerMessage[] = [];
  worker.on('message', (m: WorkerMessage) => messages.push(m));
  await new Promise((resolve, reject) => worker.once('exit', resolve).once('error', reject));
  const last = messages.at(-1);
  assert.equal(last?.type, 'result', JSON.stringify(last));
  const result = (last as { result: { result: string; outputWidthPx: number } }).result;
  assert.equal(result.outputWidthPx, 24);
  assert.equal((await sharp(result.result).metadata()).width, 24);
});

test('electron-builder.yml passes electron-builder\'s own schema', async () => {
  const builder = createRequire(require.resolve('electron-builder'));
  const { getConfig, validateConfiguration } = builder('app-builder-lib/out/util/config/config.js') as {
    getConfig(projectDir: string, configPath: string | null, fromOptions: null): Promise<Record<string, unknown>>;
    validateConfiguration(config: unknown, logger: unknown): Promise<void>;
  };
  const { DebugLogger } = builder('builder-util') as { DebugLogger: new (enabled: boolean) => unknown };
  const config = await getConfig(root, null, null);
  await validateConfiguration(config, new DebugLogger(false));
  assert.equal(config.productName, 'Enhance');
  for (const pkg of ['onnxruntime-node', 'sharp', 'webgpu']) {
    assert.ok((config.asarUnpack as string[]).includes(`**/node_modules/${pkg}/**`), `${pkg} is unpacked from the asar`);
  }
  for (const { from } of config.extraResources as { from: string }[]) assert.ok(existsSync(join(root, from)), from);
});
