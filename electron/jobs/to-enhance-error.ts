import { type EnhanceError, isEnhanceError } from '../../common/errors.ts';

/** Any thrown value as the plain error shape that crosses threads, IPC and HTTP: code, message, path; never a stack. */
export function toEnhanceError(e: unknown): EnhanceError {
  if (isEnhanceError(e)) return { code: e.code, message: e.message, ...(e.path ? { path: e.path } : {}) };
  const message = e instanceof Error ? e.message : String(e);
  return { code: 'internal', message: message.split('\n')[0].slice(0, 500) || 'internal error' };
}
