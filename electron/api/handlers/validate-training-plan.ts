import type { Handler } from '../context.ts';

export const validateTrainingPlan: Handler<'validateTrainingPlan'> = async (ctx, args) => {
  const { ok, errors, stepsPerEpoch, totalSteps, trainImages, validationImages } = await ctx.runs.check(args);
  return { ok, errors, stepsPerEpoch, totalSteps, trainImages, validationImages };
};
