import type { Handler } from '../context.ts';

export const appInfo: Handler<'appInfo'> = async (ctx) => ({
  version: ctx.version,
  mode: ctx.mode,
  roots: ctx.mode === 'browser' ? ctx.guard.roots().filter((r) => r !== ctx.uploadsDir && r !== ctx.resultsDir) : [],
  uploadsDir: ctx.uploadsDir,
  nativeDialogs: ctx.dialogs !== undefined,
  device: ctx.providers === 'auto' ? 'auto (GPU when available, else CPU)' : ctx.providers,
});
