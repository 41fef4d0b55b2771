// `enhance serve` against a real server on a free port: the token on every route, Host and
// Origin checks, the path guard behind /files, static files that stay inside the renderer
// folder, and a real upscale whose events arrive on the SSE stream.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { type IncomingHttpHeaders, type IncomingMessage, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { JobEvent } from '../common/jobs.ts';
import { createApiContext } from '../electron/api/create-context.ts';
import { type RunningServer, startServer } from '../electron/serve/server.ts';

const repo = fileURLToPath(new URL('..', import.meta.url));
let dir: string;
let root: string;
let rendererDir: string;
let photo: string;
let outside: string;
let server: RunningServer;

async function writePng(path: string, widthPx: number, heightPx: number): Promise<void> {
  const px = Buffer.alloc(widthPx * heightPx * 3);
  for (let i = 0; i < px.length; i++) px[i] = (i * 37) % 251;
  await sharp(px, { raw: { width: widthPx, height: heightPx, channels: 3 } }).png().toFile(path);
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  json(): any;
}

/** A raw HTTP request: the path goes out unnormalized and every header is ours to choose. */
function call(path: string, o: { method?: string; headers?: Record<string, string>; body?: string; port?: number } = {}): Promise<Reply> {
  const port = o.port ?? server.port;
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: o.method ?? 'GET', headers: { host: `127.0.0.1:${port}`, ...o.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode!, headers: res.headers, body, json: () => JSON.parse(body.toString('utf8')) });
      });
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

const bearer = () => ({ authorization: `Bearer ${server.token}` });
const api = (method: string, args: unknown, headers: Record<string, string> = bearer()) =>
  call(`/api/${method}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(args) });
const file = (path: string, headers: Record<string, string> = bearer()) => call(`/files?path=${encodeURIComponent(path)}`, { headers });

before(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), 'enhance-serve-')));
  root = join(dir, 'root');
  rendererDir = join(dir, 'renderer');
  await mkdir(root);
  await mkdir(join(rendererDir, 'assets'), { recursive: true });
  await writeFile(join(rendererDir, 'index.html'), '<!doctype html><title>Enhance</title><script type="module" src="/assets/app.js"></script>');
  await writeFile(join(rendererDir, 'assets', 'app.js'), 'console.log("enhance");');
  await writeFile(join(dir, 'secret.txt'), 'SECRET outside the renderer');
  await symlink(join(dir, 'secret.txt'), join(rendererDir, 'link.txt'));
  photo = join(root, 'photo.png');
  await writePng(photo, 40, 32);
  outside = join(dir, 'outside.png');
  await writePng(outside, 8, 8);
  await symlink(outside, join(root, 'link.png'));
  await sharp(await readFile(photo)).tiff().toFile(join(root, 'photo.tif'));
  await writeFile(join(root, 'notes.txt'), 'not an image');
  const ctx = createApiContext({ mode: 'browser', dataDir: join(dir, 'data'), roots: [root], providers: 'cpu', threads: 1 });
  server = await startServer({ ctx, port: 0, rendererDir });
});

after(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the token', () => {
  test('is required on every route', async () => {
    const replies = [await call('/'), await call('/assets/app.js'), await api('appInfo', {}, {}), await file(photo, {}), await call('/api/events')];
    for (const r of replies) {
      assert.equal(r.status, 401);
      assert.equal(r.json().error.code, 'unauthorized');
    }
  });

  test('a wrong one is refused wherever it is given', async () => {
    const wrong = `${server.token.slice(0, -1)}${server.token.endsWith('A') ? 'B' : 'A'}`;
    for (const r of [
      await api('appInfo', {}, { authorization: `Bearer ${wrong}` }),
      await call(`/?token=${wrong}`),
      await call('/', { headers: { cookie: `enhance-token=${wrong}` } }),
      await call('/', { headers: { authorization: 'Bearer ' } }),
    ]) assert.equal(r.status, 401);
  });

  test('in the header works', async () => {
    const r = await api('appInfo', {});
    assert.equal(r.status, 200);
    const reply = r.json();
    assert.equal(reply.ok, true);
    assert.equal(reply.value.mode, 'browser');
    assert.ok(reply.value.roots.includes(root));
  });

  test('in the query sets the cookie, and the cookie alone then works', async () => {
    assert.equal(server.url, `http://127.0.0.1:${server.port}/?token=${server.token}`);
    const page = await call(`/?token=${server.token}`);
    assert.equal(page.status, 200);
    assert.match(page.body.toString(), /<title>Enhance<\/title>/);
    assert.deepEqual(page.headers['set-cookie'], [`enhance-token=${server.token}; HttpOnly; SameSite=Strict; Path=/`]);
    const cookie = { cookie: `other=1; enhance-token=${server.token}` };
    assert.equal((await call('/assets/app.js', { headers: cookie })).status, 200);
    assert.equal((await file(photo, cookie)).status, 200);
    const info = await api('appInfo', {}, { ...cookie, origin: `http://127.0.0.1:${server.port}` });
    assert.equal(info.json().ok, true);
    assert.equal(info.headers['set-cookie'], undefined, 'only the query sets the cookie');
  });
});

describe('requests from elsewhere', () => {
  test('another Host name or port is refused (DNS rebinding), localhost is not', async () => {
    for (const host of ['evil.example', `evil.example:${server.port}`, `127.0.0.1:${server.port + 1}`, `localhost.evil.example:${server.port}`]) {
      const r = await call('/', { headers: { ...bearer(), host } });
      assert.equal(r.status, 403, host);
    }
    assert.equal((await call('/', { headers: { ...bearer(), host: `localhost:${server.port}` } })).status, 200);
  });

  test('a POST from another origin is refused', async () => {
    for (const origin of ['http://evil.example', `http://127.0.0.1:${server.port + 1}`, 'null']) {
      const r = await api('appInfo', {}, { ...bearer(), origin });
      assert.equal(r.status, 403, origin);
    }
  });
});

describe('the API', () => {
  test('takes JSON only, and answers malformed JSON with invalid-argument', async () => {
    const text = await call('/api/appInfo', { method: 'POST', headers: { ...bearer(), 'content-type': 'text/plain' }, body: '{}' });
    assert.equal(text.status, 415);
    const bad = await call('/api/appInfo', { method: 'POST', headers: { ...bearer(), 'content-type': 'application/json' }, body: '{"a":' });
    assert.equal(bad.status, 400);
    assert.equal(bad.json().error.code, 'invalid-argument');
    assert.equal((await call('/api/appInfo', { headers: bearer() })).status, 405);
  });

  test('refuses a body over the limit before reading it', async () => {
    const r = await call('/api/uploadPhoto', { method: 'POST', headers: { ...bearer(), 'content-type': 'application/json', 'content-length': String(400 * 1024 * 1024) } });
    assert.equal(r.status, 413);
    assert.deepEqual(await readdir(join(dir, 'data', 'uploads')), []);
  });

  test('an uploaded photo can be shown through /files', async () => {
    const bytes = await readFile(photo);
    const reply = (await api('uploadPhoto', { name: 'dropped.png', base64: bytes.toString('base64') })).json();
    assert.equal(reply.ok, true, JSON.stringify(reply));
    assert.match(reply.value.path, /dropped\.png$/);
    const shown = await file(reply.value.path);
    assert.equal(shown.status, 200);
    assert.deepEqual(shown.body, bytes);
  });

  test('an unknown method is answered by dispatch', async () => {
    const r = await api('deleteEverything', {});
    assert.equal(r.status, 200);
    assert.equal(r.json().error.code, 'unknown-method');
  });

  test('every response carries the security headers', async () => {
    for (const r of [await call('/'), await call(`/?token=${server.token}`), await file(photo), await api('appInfo', {})]) {
      assert.equal(r.headers['content-security-policy'], "default-src 'self'; img-src 'self' blob: data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'");
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
      assert.equal(r.headers['referrer-policy'], 'no-referrer');
    }
  });
});

describe('/files', () => {
  test('serves a photo inside the root', async () => {
    const r = await file(photo);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'image/png');
    assert.equal(r.headers['cache-control'], 'no-store');
    assert.deepEqual(r.body, await readFile(photo));
  });

  test('converts a TIFF to PNG', async () => {
    const r = await file(join(root, 'photo.tif'));
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'image/png');
    const meta = await sharp(r.body).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 40, 32]);
  });

  test('refuses paths outside the root, however they are spelt', async () => {
    for (const p of ['/etc/passwd', outside, join(root, '..', 'outside.png'), join(root, 'link.png'), 'outside.png']) {
      const r = await file(p);
      assert.equal(r.status, 403, p);
      assert.equal(r.json().error.code, 'forbidden-path');
    }
  });

  test('answers a missing file, a non-image and a missing path with errors', async () => {
    assert.equal((await file(join(root, 'nope.png'))).status, 404);
    assert.equal((await file(join(root, 'notes.txt'))).status, 415);
    assert.equal((await call('/files', { headers: bearer() })).status, 400);
  });
});

describe('static files', () => {
  test('are served from the renderer folder, without listings', async () => {
    const js = await call('/assets/app.js', { headers: bearer() });
    assert.equal(js.status, 200);
    assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal((await call('/assets', { headers: bearer() })).status, 404);
    assert.equal((await call('/assets/', { headers: bearer() })).status, 404);
  });

  test('never leave the renderer folder', async () => {
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/%2e%2e%2fsecret.txt', '/assets/..%2f..%2fsecret.txt', '/link.txt', '/../package.json', '/%2e%2e/%2e%2e/package.json']) {
      const r = await call(path, { headers: bearer() });
      assert.equal(r.status, 404, path);
      assert.doesNotMatch(r.body.toString(), /SECRET|"name": "enhance"/, path);
    }
  });

  test('without a build, / says how to make one', async () => {
    const empty = join(dir, 'no-build');
    await mkdir(empty);
    const other = await startServer({ ctx: createApiContext({ mode: 'browser', dataDir: join(dir, 'data2'), providers: 'cpu', jobMode: 'in-process' }), rendererDir: empty });
    try {
      const r = await call('/', { port: other.port, headers: { authorization: `Bearer ${other.token}` } });
      assert.equal(r.status, 503);
      assert.match(r.body.toString(), /npm run build:renderer/);
    } finally {
      await other.close();
    }
  });
});

/** The SSE stream, parsed as it arrives. */
async function openEvents(): Promise<{ events: JobEvent[]; until(seen: (e: JobEvent) => boolean): Promise<void>; close(): void }> {
  const req = request({ host: '127.0.0.1', port: server.port, path: '/api/events', headers: { ...bearer(), host: `127.0.0.1:${server.port}` } });
  const res = await new Promise<IncomingMessage>((resolve, reject) => req.on('response', resolve).on('error', reject).end());
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8');
  const events: JobEvent[] = [];
  const waiters = new Set<() => void>();
  let buffer = '';
  let connected!: () => void;
  const open = new Promise<void>((resolve) => (connected = resolve));
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    buffer += chunk;
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (block === ': connected') connected();
      const m = /^event: job\ndata: (.*)$/.exec(block);
      if (m) events.push(JSON.parse(m[1]) as JobEvent);
    }
    for (const w of waiters) w();
  });
  await open;
  return {
    events,
    until: (seen) => new Promise((resolve, reject) => {
      const check = () => {
        if (events.some(seen)) {
          waiters.delete(check);
          resolve();
        }
      };
      res.once('end', () => reject(new Error('the event stream ended')));
      waiters.add(check);
      check();
    }),
    close: () => req.destroy(),
  };
}

test('an upscale started over HTTP reports started, progress and finished on the event stream', { timeout: 120_000 }, async () => {
  const stream = await openEvents();
  try {
    const reply = (await api('enhancePhoto', { input: photo, task: 'upscale', scale: 2 })).json();
    assert.equal(reply.ok, true, JSON.stringify(reply));
    const { jobId } = reply.value;
    await stream.until((e) => e.type === 'finished' && e.jobId === jobId);
    const mine = stream.events.filter((e) => e.jobId === jobId);
    assert.equal(mine[0].type, 'started');
    assert.ok(mine.some((e) => e.type === 'progress' && e.progress.fraction > 0 && e.progress.fraction <= 1));
    const finished = mine.at(-1)!;
    assert.ok(finished.type === 'finished');
    assert.equal(finished.status, 'done', JSON.stringify(finished.error));
    const result = (finished.result as { result: string }).result;
    assert.ok(existsSync(result));
    const shown = await file(result);
    assert.equal(shown.status, 200);
    const meta = await sharp(shown.body).metadata();
    assert.deepEqual([meta.width, meta.height], [80, 64]);
  } finally {
    stream.close();
  }
});

function runCli(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/enhance.ts', 'serve', ...args], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const firstLine = () => new Promise<string>((resolve, reject) => {
    child.stdout.on('data', () => stdout.includes('\n') && resolve(stdout.split('\n')[0]));
    child.on('exit', () => reject(new Error(`exited before printing a line: ${stderr}`)));
  });
  return { child, exit, firstLine, output: () => ({ stdout, stderr }) };
}

describe('enhance serve', () => {
  test('prints its URL, serves the API and stops cleanly on SIGTERM', { timeout: 60_000 }, async () => {
    const cli = runCli(['--port', '0', '--root', root, '--data', join(dir, 'cli-data'), '--device', 'cpu']);
    const line = await cli.firstLine();
    const m = /^Enhance is running at (http:\/\/127\.0\.0\.1:(\d+)\/\?token=([\w-]{32})) {2}\(Ctrl-C to stop\)$/.exec(line);
    assert.ok(m, line);
    const res = await fetch(`http://127.0.0.1:${m[2]}/api/appInfo`, {
      method: 'POST', headers: { authorization: `Bearer ${m[3]}`, 'content-type': 'application/json' }, body: '{}',
    });
    const info = await res.json();
    assert.equal(info.ok, true);
    assert.deepEqual([info.value.mode, info.value.device], ['browser', 'cpu']);
    assert.ok(info.value.roots.includes(root));
    cli.child.kill('SIGTERM');
    assert.equal(await cli.exit, 0);
    assert.equal(cli.output().stdout.trim().split('\n').length, 1);
  });

  test('refuses a bad port, device or root with exit 2', { timeout: 60_000 }, async () => {
    const cases: [string[], RegExp][] = [
      [['--port', '70000'], /^enhance serve: --port must be an integer from 0 to 65535, not '70000'/],
      [['--port', '12a'], /^enhance serve: --port must be an integer from 0 to 65535, not '12a'/],
      [['--root', join(root, 'photo.png')], /^enhance serve: --root \S+ is not a folder/],
      [['--root', join(dir, 'missing')], /^enhance serve: --root \S+ is not a folder/],
      [['--device', 'tpu'], /^enhance serve: --device must be auto, gpu or cpu, not 'tpu'/],
      [['--cpu', '--device', 'gpu'], /^enhance serve: --cpu contradicts --device gpu/],
    ];
    for (const [args, message] of cases) {
      const cli = runCli([...args, '--data', join(dir, 'cli-data')]);
      assert.equal(await cli.exit, 2, args.join(' '));
      const { stderr } = cli.output();
      assert.match(stderr, message);
      assert.equal(stderr.trim().split('\n').length, 1, stderr);
    }
  });
});
