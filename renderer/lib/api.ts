// The renderer's one way to the app: Electron's preload bridge, or in browser mode (`enhance
// serve`) HTTP calls and a server-sent event stream. Both are typed from common/api.ts, so a wrong
// method name or payload fails type checking here as it does in the main process.
import type { Api, ApiArgs, ApiEvents, ApiMethodName, ApiReply, ApiResult } from '../../common/api.ts';
import type { EnhanceBridge } from '../../common/bridge.ts';
import { type EnhanceError, isEnhanceError } from '../../common/errors.ts';

declare global {
  interface Window {
    enhance?: EnhanceBridge;
  }
}

type JobListener = (event: ApiEvents['job']) => void;

export const mode: 'electron' | 'browser' = window.enhance ? 'electron' : 'browser';

async function post<M extends ApiMethodName>(method: M, args: ApiArgs<M>): Promise<ApiResult<M>> {
  let response: Response;
  try {
    response = await fetch(`/api/${method}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(args) });
  } catch {
    throw { code: 'internal', message: 'The Enhance server cannot be reached. Is `enhance serve` still running?' } satisfies EnhanceError;
  }
  let reply: ApiReply<M>;
  try {
    reply = (await response.json()) as ApiReply<M>;
  } catch {
    throw {
      code: response.status === 401 ? 'unauthorized' : 'internal',
      message: response.status === 401
        ? 'This page is not signed in to the Enhance server: open the address `enhance serve` printed (with its ?token=).'
        : `The server answered ${response.status} ${response.statusText} without a result.`,
    } satisfies EnhanceError;
  }
  if (!reply.ok) throw reply.error;
  return reply.value;
}

/** Every API method as an async function; a failure rejects with an EnhanceError. */
export const api: Api = window.enhance ?? new Proxy({} as Api, {
  // Not 'then': the proxy must not look like a promise to anything that awaits it.
  get: (_, method) => (typeof method === 'string' && method !== 'then' ? (args: never) => post(method as ApiMethodName, args) : undefined),
});

const listeners = new Set<JobListener>();
let events: EventSource | undefined;
const reconnectListeners = new Set<() => void>();

/** Job events from the main process or the server's stream; returns the unsubscribe. */
export function onJobEvent(listener: JobListener): () => void {
  if (window.enhance) return window.enhance.on('job', listener);
  listeners.add(listener);
  if (!events) {
    events = new EventSource('/api/events');
    events.addEventListener('job', (e) => {
      const event = JSON.parse((e as MessageEvent<string>).data) as ApiEvents['job'];
      for (const l of listeners) l(event);
    });
    // EventSource reconnects by itself; events sent while it was away are caught up from listJobs.
    events.addEventListener('open', () => {
      for (const l of reconnectListeners) l();
    });
  }
  return () => listeners.delete(listener);
}

/** Browser mode: called whenever the event stream (re)connects, so state missed meanwhile can be reloaded. */
export function onEventStreamOpen(listener: () => void): () => void {
  reconnectListeners.add(listener);
  return () => reconnectListeners.delete(listener);
}

/** A URL an <img> can load for a path the app may read. */
export function fileUrl(path: string): string {
  return window.enhance ? window.enhance.fileUrl(path) : `/files?path=${encodeURIComponent(path)}`;
}

/** Whatever a call threw, as an error the UI can show: code, a sentence, maybe a path. */
export function toEnhanceError(e: unknown): EnhanceError {
  if (isEnhanceError(e)) return { code: e.code, message: e.message, path: e.path };
  const message = e instanceof Error ? e.message : String(e);
  return { code: 'internal', message: message || 'Something went wrong.' };
}

/** Largest photo the page uploads: the API takes at most 200 million base64 characters. */
const uploadMaxBytes = 140_000_000;

/**
 * A path the app can open for a dropped or picked File: Electron registers the file's own path;
 * browser mode uploads its bytes into the server's uploads folder.
 */
export async function pathOfFile(file: File): Promise<string> {
  if (window.enhance) return window.enhance.choosePathOfFile(file);
  if (file.size > uploadMaxBytes) {
    throw { code: 'unsupported', message: `${file.name} is too large to upload (${Math.round(file.size / 1e6)} MB); put it in one of the server's folders and open it from there.`, path: file.name } satisfies EnhanceError;
  }
  const base64 = await new Promise<string>((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).slice(String(reader.result).indexOf(',') + 1));
    reader.onerror = () => reject({ code: 'unreadable', message: `${file.name} could not be read by the browser.`, path: file.name } satisfies EnhanceError);
    reader.readAsDataURL(file);
  });
  return (await api.uploadPhoto({ name: file.name, base64 })).path;
}
