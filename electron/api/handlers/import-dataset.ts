import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { EngineError } from '../../engine/errors.ts';
import type { Handler } from '../context.ts';

export const importDataset: Handler<'importDataset'> = async (ctx, { folder, name, layout }) => {
  const real = ctx.guard.check(folder, 'read');
  const s = await stat(real).catch(() => undefined);
  if (!s) throw new EngineError('not-found', `${folder}: no such folder`, folder);
  if (!s.isDirectory()) throw new EngineError('usage', `${folder} is a file; choose a folder of photos`, folder);
  await access(real, constants.R_OK | constants.X_OK).catch(() => {
    throw new EngineError('unreadable', `${folder}: the folder cannot be read (permission denied)`, folder);
  });
  const same = ctx.datasets.list().find((d) => d.folder === real && d.layout === (layout ?? 'photos'));
  // New photos would change the split and data order under a running run.
  if (same && ctx.runs.isTrainingOn(same.id)) throw new EngineError('usage', `a training run is using dataset '${same.name}': pause or cancel it first`);
  return ctx.datasets.startImport(real, layout ?? 'photos', name);
};
