// `enhance serve`: the renderer and the same API over HTTP on 127.0.0.1, for end-to-end tests and
// headless GPU boxes. Every request, static files included, needs the run's token; the routes are
//   POST /api/<method>   JSON args -> dispatch -> 200 JSON ApiReply
//   GET  /api/events     Server-Sent Events, `event: job` with a JobEvent as data
//   GET  /files?path=…   a chosen image (path guard), converted to PNG where browsers cannot show it
//   GET  /…              the built renderer
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dispatch } from '../api/dispatch.ts';
import type { ApiContext } from '../api/context.ts';
import { toEnhanceError } from '../jobs/to-enhance-error.ts';
import { serveFile } from './files.ts';
import { authenticate, hostAllowed, newToken, originAllowed, tokenCookieHeader } from './guard.ts';
import { securityHeaders, sendError, sendJson } from './respond.ts';
import { serveStatic } from './static.ts';

export interface ServerOptions {
  ctx: ApiContext;
  /** 0 or absent: a free port. */
  port?: number;
  /** The Vite build of the renderer (`out/renderer/`). */
  rendererDir: string;
  /** Absent: a random one per run. */
  token?: string;
}

export interface RunningServer {
  /** `http://127.0.0.1:<port>/?token=<token>`: opening it sets the cookie the page's other requests use. */
  url: string;
  port: number;
  token: string;
  /** Ends event streams, stops listening and cancels every job (waiting for them). */
  close(): Promise<void>;
}

/** uploadPhoto carries a photo as base64 (up to 200 MB of it). */
const maxBodyBytes = 300 * 1024 * 1024;
const heartbeatMs = 15_000;

export async function startServer(o: ServerOptions): Promise<RunningServer> {
  const token = o.token ?? newToken();
  if (!/^[\w-]{16,}$/.test(token)) throw new Error('a server token is at least 16 letters, digits, dashes or underscores');
  const streams = new Set<ServerResponse>();
  let port = 0;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    for (const [name, value] of Object.entries(securityHeaders)) res.setHeader(name, value);
    if (!hostAllowed(req.headers.host, port)) {
      return sendError(res, 403, 'unauthorized', `this server answers only to 127.0.0.1:${port} or localhost:${port}`);
    }
    if (req.method === 'POST' && !originAllowed(req.headers.origin, port)) {
      return sendError(res, 403, 'unauthorized', 'calls from another site are not allowed');
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    } catch {
      return sendError(res, 400, 'invalid-argument', 'the request URL is not valid');
    }
    const auth = authenticate(req, url, token);
    if (!auth) return sendError(res, 401, 'unauthorized', 'open the URL `enhance serve` printed (it carries the token)');
    if (auth === 'query') res.setHeader('Set-Cookie', tokenCookieHeader(token));

    const { pathname } = url;
    const get = req.method === 'GET' || req.method === 'HEAD';
    if (pathname === '/api/events' && req.method === 'GET') return openEventStream(res);
    if (pathname.startsWith('/api/')) {
      if (req.method !== 'POST') return sendError(res, 405, 'invalid-argument', 'API calls are POSTs with a JSON body');
      return callApi(pathname.slice('/api/'.length), req, res);
    }
    if (!get) return sendError(res, 405, 'invalid-argument', `${req.method} is not allowed here`);
    if (pathname === '/files') return serveFile(o.ctx, url.searchParams.get('path'), res);
    return serveStatic(o.rendererDir, pathname, res);
  }

  async function callApi(method: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!/^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '')) {
      return sendError(res, 415, 'invalid-argument', 'API calls take a JSON body (Content-Type: application/json)');
    }
    const body = await readBody(req);
    if (!body) {
      res.setHeader('Connection', 'close');
      return sendError(res, 413, 'invalid-argument', `the request body is over ${maxBodyBytes / 1024 / 1024} MB`);
    }
    let args: unknown;
    try {
      args = body.length === 0 ? undefined : JSON.parse(body.toString('utf8'));
    } catch (e) {
      return sendError(res, 400, 'invalid-argument', `the body is not valid JSON: ${(e as Error).message}`);
    }
    sendJson(res, 200, await dispatch(o.ctx, method, args));
  }

  function openEventStream(res: ServerResponse): void {
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store' });
    // A first comment, so a client knows the stream is open before it starts a job.
    res.write(': connected\n\n');
    const off = o.ctx.jobs.onEvent((e) => res.write(`event: job\ndata: ${JSON.stringify(e)}\n\n`));
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), heartbeatMs);
    streams.add(res);
    res.on('close', () => {
      off();
      clearInterval(heartbeat);
      streams.delete(res);
    });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (res.headersSent) res.destroy();
      else sendError(res, 500, 'internal', toEnhanceError(e).message);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
    async close() {
      for (const s of streams) s.end();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await o.ctx.jobs.dispose();
    },
  };
}

/** The whole body, or null once it passes the limit (the rest is not read). */
function readBody(req: IncomingMessage): Promise<Buffer | null> {
  if (Number(req.headers['content-length'] ?? 0) > maxBodyBytes) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes <= maxBodyBytes) chunks.push(chunk);
      else {
        req.pause();
        resolve(null);
      }
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
