// Who may talk to `enhance serve`: only a page on this machine that knows the run's token, under
// our own host name (DNS rebinding), and for POSTs from our own origin (cross-site form posts).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const tokenCookie = 'enhance-token';

export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

/** Constant time whatever the lengths: both sides are hashed to 32 bytes first. */
export function sameToken(given: string, token: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(token));
}

export type Authentication = 'header' | 'query' | 'cookie' | null;

/** How the request proved it knows the token, if it did. */
export function authenticate(req: IncomingMessage, url: URL, token: string): Authentication {
  const bearer = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
  if (bearer !== undefined && sameToken(bearer, token)) return 'header';
  const query = url.searchParams.get('token');
  if (query !== null && sameToken(query, token)) return 'query';
  const cookie = cookieValue(req.headers.cookie, tokenCookie);
  if (cookie !== undefined && sameToken(cookie, token)) return 'cookie';
  return null;
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function tokenCookieHeader(token: string): string {
  return `${tokenCookie}=${token}; HttpOnly; SameSite=Strict; Path=/`;
}

/** The Host names a browser on this machine sends for us; anything else is a rebound DNS name or a proxy. */
export function hostAllowed(host: string | undefined, port: number): boolean {
  return host === `127.0.0.1:${port}` || host === `localhost:${port}`;
}

export function originAllowed(origin: string | undefined, port: number): boolean {
  return origin === undefined || origin === `http://127.0.0.1:${port}` || origin === `http://localhost:${port}`;
}
