import { EngineError } from '../../engine/errors.ts';
import type { Handler } from '../context.ts';

export const deleteDataset: Handler<'deleteDataset'> = async (ctx, { id }) => {
  if (ctx.runs.isTrainingOn(id)) throw new EngineError('usage', 'a training run is using this dataset: pause or cancel it first');
  ctx.datasets.remove(id);
  return { deleted: true };
};
