import { EngineError } from '../../engine/errors.ts';
import type { Handler } from '../context.ts';

export const pickPaths: Handler<'pickPaths'> = async (ctx, { kind, defaultName }) => {
  if (!ctx.dialogs) throw new EngineError('not-available', 'there are no native dialogs in browser mode: browse the folders the server was started with');
  return ctx.dialogs.pick(kind, defaultName);
};
