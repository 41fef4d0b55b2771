import { type ApiMethodName, apiMethods, type ApiReply, isApiMethodName } from '../../common/api.ts';
import { toEnhanceError } from '../jobs/to-enhance-error.ts';
import type { ApiContext, Handler } from './context.ts';
import { handlers } from './handler-table.ts';

/**
 * The single entry of every transport (IPC, HTTP): checks the method name and validates the
 * arguments against the contract's schema before any handler runs, and answers a typed reply,
 * never a thrown error or a stack.
 */
export async function dispatch(ctx: ApiContext, method: unknown, args: unknown): Promise<ApiReply<ApiMethodName>> {
  if (!isApiMethodName(method)) {
    return { ok: false, error: { code: 'unknown-method', message: `there is no API method ${JSON.stringify(String(method).slice(0, 100))}` } };
  }
  const parsed = apiMethods[method].args.safeParse(args ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length ? `${issue.path.join('.')}: ` : '';
    return { ok: false, error: { code: 'invalid-argument', message: `${method}: ${where}${issue.message}` } };
  }
  try {
    const value = await (handlers[method] as Handler<ApiMethodName>)(ctx, parsed.data as never);
    return { ok: true, value } as ApiReply<ApiMethodName>;
  } catch (e) {
    return { ok: false, error: toEnhanceError(e) };
  }
}
