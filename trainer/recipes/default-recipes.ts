import type { Task } from '../../common/model-descriptor.ts';
import type { LossSpec } from '../losses/losses.ts';
import type { Stage } from '../fit/learner.ts';
import type { TrainedStage } from '../../common/model-manifest.ts';
import type { UNetOptions } from '../models/unet.ts';
import type { DegradeOptions } from '../data/tasks.ts';

/** A recipe stage; a different loss or crop size, or a grown model, starts a new phase, trained from the previous phase's weights. */
export interface RecipeStage extends Stage {
  loss?: LossSpec;
  cropPx?: number;
  /** Grow the model from this stage on (its new layers start as the identity, so the output is kept). */
  grow?: Pick<UNetOptions, 'headBlocks'>;
}

/** How one shipped default is trained: everything `npm run train:defaults` needs to rebuild it. */
export interface Recipe {
  id: string;
  task: Task;
  scale: 1 | 2 | 4;
  options: UNetOptions;
  loss: LossSpec;
  stages: RecipeStage[];
  batchSize: number;
  cropPx: number;
  /** Folders under ../shared/datasets; never Set5/Set14 (evaluation only). */
  datasets: string[];
  maxSidePx: number;
  degrade?: Partial<DegradeOptions>;
  seed: number;
  /** Why these choices, for the manifest and docs. */
  notes: string;
}

// ×2: widths 16-32-64-128 (0.46 M parameters) upscale a 12 MP photo in 19–28 s on 2 cores; 24-48-96-192
// (1.04 M) scored the same at 11 k crops (36.29 / 32.25) but runs at 0.30 MP/s (≈ 40 s), past the 30 s goal.
// ×4 keeps 24-48-96-192 (no speed goal) and grows head blocks late (docs/models.md). L1 was chosen
// from the SR literature; the later equal-time ablation (docs/ablation-x2.md) found MSE and
// progressive crops ahead at 6 minutes: the next rebuild's choice.
// No pretrained encoder: at 200 steps the ablation (docs/ablation-x2.md) found it cost PSNR.
const srWidths = [24, 48, 96, 192];

export const recipes: Recipe[] = [
  {
    id: 'upscale-x2', task: 'upscale', scale: 2,
    options: { task: 'upscale', scale: 2, resolution: 'low-res', widths: [16, 32, 64, 128] },
    loss: { kind: 'l1' }, stages: [{ epochs: 40, lr: 2e-3 }, { epochs: 140, lr: 1e-3 }, { epochs: 20, lr: 3e-4 }], batchSize: 8, cropPx: 128,
    datasets: ['T91', 'BSDS200'], maxSidePx: 1024, seed: 1,
    notes: 'Fidelity (PSNR) default: L1 loss, low-res U-Net with a bicubic-initialised pixel-shuffle tail; widths 16-32-64-128 keep 12 MP ×2 within 30 s on 2 cores.',
  },
  {
    id: 'colorize', task: 'colorize', scale: 1,
    options: { task: 'colorize', scale: 1, widths: [16, 32, 64, 128] },
    loss: { kind: 'mse' }, stages: [{ epochs: 1, lr: 2e-3 }, { epochs: 1, lr: 1e-3 }], batchSize: 16, cropPx: 96,
    datasets: ['Imagenette160_subset/train'], maxSidePx: 1024, seed: 1,
    notes: 'Predicts Cb/Cr from Y; MSE on chroma.',
  },
  {
    id: 'decrappify', task: 'decrappify', scale: 1,
    options: { task: 'decrappify', scale: 1, widths: [16, 32, 64, 128] },
    loss: { kind: 'l1' }, stages: [{ epochs: 1, lr: 2e-3 }, { epochs: 4, lr: 2e-3 }, { epochs: 5, lr: 1e-3 }, { epochs: 6, lr: 1e-3 }], batchSize: 16, cropPx: 96,
    datasets: ['Imagenette160_subset/train'], maxSidePx: 1024, seed: 1,
    degrade: { jpegQuality: [10, 60] },
    notes: 'JPEG quality 10–60 (baseline 4:2:0), L1 loss.',
  },
  {
    id: 'upscale-x4', task: 'upscale', scale: 4,
    options: { task: 'upscale', scale: 4, resolution: 'low-res', widths: srWidths },
    // Its L1 curve was flat after 130 epochs; the ablation's winners (MSE, larger crops later) then fine-tune it.
    // Then it grows residual blocks at full low-res resolution (identity at first), twice by four:
    // each time trained alone with the rest frozen (cheap steps: no gradient through the U-Net), then everything together.
    loss: { kind: 'l1' }, stages: [{ epochs: 30, lr: 2e-3 }, { epochs: 100, lr: 1e-3 }, { epochs: 60, lr: 5e-4, loss: { kind: 'mse' }, cropPx: 256 },
      { epochs: 20, lr: 1e-3, loss: { kind: 'mse' }, cropPx: 256, grow: { headBlocks: 4 }, freeze: ['encoder', 'decoder'] },
      { epochs: 55, lr: 4e-4, loss: { kind: 'mse' }, cropPx: 256 },
      { epochs: 15, lr: 1e-3, loss: { kind: 'mse' }, cropPx: 256, grow: { headBlocks: 8 }, freeze: ['encoder', 'decoder'] },
      { epochs: 40, lr: 3e-4, loss: { kind: 'mse' }, cropPx: 256 }],
    batchSize: 16, cropPx: 192,
    datasets: ['T91', 'BSDS200'], maxSidePx: 1024, seed: 1,
    notes: 'Fidelity (PSNR) default: L1 loss on 192-px crops, then MSE on 256-px crops; low-res U-Net with a bicubic-initialised pixel-shuffle tail, grown twice by four residual blocks at full low-res resolution.',
  },
];

export interface RecipePhase {
  loss: LossSpec;
  cropPx: number;
  /** The model's options in this phase: the recipe's, grown by every earlier `grow`. */
  options: UNetOptions;
  stages: Stage[];
}

/** Consecutive stages with the same loss and crop size train as one phase (one trainRun, one checkpoint); a `grow` starts a phase. */
export function recipePhases(recipe: Recipe, stages: RecipeStage[] = recipe.stages): RecipePhase[] {
  const phases: RecipePhase[] = [];
  let options = recipe.options;
  for (const { loss = recipe.loss, cropPx = recipe.cropPx, grow, ...stage } of stages) {
    const last = phases.at(-1);
    if (grow) options = { ...options, ...grow };
    if (last && !grow && last.cropPx === cropPx && JSON.stringify(last.loss) === JSON.stringify(loss)) last.stages.push(stage);
    else phases.push({ loss, cropPx, options, stages: [stage] });
  }
  return phases;
}

/** The stages as the manifest records them (a phase's loss by its kind). */
export function manifestStages(stages: RecipeStage[]): TrainedStage[] {
  return stages.map(({ loss, ...s }) => ({ ...s, ...(loss ? { loss: loss.kind } : {}) }));
}

/**
 * How many of a recipe's phases a shipped model already holds: its manifest stages must be exactly the
 * recipe's first whole phases, and at least one phase must be left to train.
 */
export function phasesDone(id: string, phases: RecipePhase[], stages: RecipeStage[], shipped: TrainedStage[]): number {
  let done = 0;
  let count = 0;
  while (count < phases.length && done + phases[count].stages.length <= shipped.length) done += phases[count++].stages.length;
  if (count === 0 || done !== shipped.length || JSON.stringify(manifestStages(stages.slice(0, done))) !== JSON.stringify(shipped)) {
    throw new Error(`${id}: the shipped model's stages ${JSON.stringify(shipped)} are not the first whole phases of its recipe`);
  }
  if (count === phases.length) throw new Error(`${id}: the shipped model already has every stage of its recipe`);
  return count;
}

export function findRecipe(task: string, scale?: number): Recipe | undefined {
  return recipes.find((r) => r.task === task && (r.task !== 'upscale' || r.scale === (scale ?? 2)));
}
