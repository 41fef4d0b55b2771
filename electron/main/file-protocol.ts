// Serves chosen files to the window through `enhance-file:`, so the page never gets file:// access
// to the disk: every request goes through the path guard again (see file-request.ts).
import { protocol } from 'electron';
import { fileProtocol } from '../../common/bridge.ts';
import type { PathGuard } from '../services/path-guard.ts';
import { answerFileRequest } from './file-request.ts';

/** Must run before the app is ready: a standard, secure scheme may be fetched and shown in <img>. */
export function registerFileScheme(): void {
  protocol.registerSchemesAsPrivileged([{ scheme: fileProtocol, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
}

export function handleFileProtocol(guard: PathGuard): void {
  protocol.handle(fileProtocol, async (request) => {
    if (request.method !== 'GET') return new Response('only GET', { status: 405 });
    const answer = await answerFileRequest(guard, request.url);
    return new Response(answer.body, {
      status: answer.status,
      headers: { 'Content-Type': answer.contentType, 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-store' },
    });
  });
}
