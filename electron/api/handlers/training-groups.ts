import { readFile } from 'node:fs/promises';
import { EngineError } from '../../engine/errors.ts';
import { readOnnxWeights } from '../../../trainer/export/onnx-weights.ts';
import { modelGroups } from '../../../trainer/train-plan.ts';
import { modelFile } from '../../services/run-catalogue.ts';
import type { Handler } from '../context.ts';

export const trainingGroups: Handler<'trainingGroups'> = async (ctx, { modelId }) => {
  const path = await modelFile(ctx.models, modelId);
  let spec;
  try {
    spec = readOnnxWeights(await readFile(path)).spec;
  } catch (e) {
    throw new EngineError('model-invalid', `model ${modelId}: ${(e as Error).message}`);
  }
  return { groups: modelGroups(spec) };
};
