import type { ServerResponse } from 'node:http';
import type { EnhanceErrorCode } from '../../common/errors.ts';

/** On every response: the page may load only its own scripts and talk only to this server. */
export const securityHeaders: Record<string, string> = {
  'Content-Security-Policy': "default-src 'self'; img-src 'self' blob: data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  // Other local servers are same-site (ports do not count), so the cookie would reach us from their pages: this stops them embedding our files.
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const bytes = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': bytes.length, 'Cache-Control': 'no-store' });
  res.end(bytes);
}

/** The same `{ok:false,error}` shape an API call answers, so one client-side check covers both. */
export function sendError(res: ServerResponse, status: number, code: EnhanceErrorCode, message: string, path?: string): void {
  sendJson(res, status, { ok: false, error: { code, message, ...(path ? { path } : {}) } });
}
