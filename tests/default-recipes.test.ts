// The recipes are what `npm run train:defaults` rebuilds the shipped models from: their phases, and the
// manifest's record of them, must agree.
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ModelManifest } from '../common/model-manifest.ts';
import { manifestStages, phasesDone, recipePhases, recipes } from '../trainer/recipes/default-recipes.ts';

test('recipe phases: a change of loss or crop size starts a phase, equal neighbours share one', () => {
  const recipe = { ...recipes[0], loss: { kind: 'l1' as const }, cropPx: 128 };
  const phases = recipePhases(recipe, [
    { epochs: 2, lr: 1e-3 }, { epochs: 3, lr: 5e-4, cropPx: 128 },
    { epochs: 4, lr: 5e-4, loss: { kind: 'mse' }, cropPx: 192 }, { epochs: 1, lr: 1e-4, loss: { kind: 'mse' }, cropPx: 192 },
    { epochs: 1, lr: 1e-4 },
  ]);
  const options = recipe.options;
  assert.deepEqual(phases, [
    { loss: { kind: 'l1' }, cropPx: 128, options, stages: [{ epochs: 2, lr: 1e-3 }, { epochs: 3, lr: 5e-4 }] },
    { loss: { kind: 'mse' }, cropPx: 192, options, stages: [{ epochs: 4, lr: 5e-4 }, { epochs: 1, lr: 1e-4 }] },
    { loss: { kind: 'l1' }, cropPx: 128, options, stages: [{ epochs: 1, lr: 1e-4 }] },
  ]);
});

test('recipe phases: a stage that grows the model starts a phase, and later phases keep the growth', () => {
  const recipe = { ...recipes[0], loss: { kind: 'l1' as const }, cropPx: 128 };
  const stages = [
    { epochs: 2, lr: 1e-3 }, { epochs: 1, lr: 1e-3, grow: { headBlocks: 2 }, freeze: ['encoder'] }, { epochs: 3, lr: 5e-4 },
    { epochs: 1, lr: 1e-4, loss: { kind: 'mse' as const } },
  ];
  const phases = recipePhases(recipe, stages);
  const grown = { ...recipe.options, headBlocks: 2 };
  assert.deepEqual(phases, [
    { loss: { kind: 'l1' }, cropPx: 128, options: recipe.options, stages: [{ epochs: 2, lr: 1e-3 }] },
    { loss: { kind: 'l1' }, cropPx: 128, options: grown, stages: [{ epochs: 1, lr: 1e-3, freeze: ['encoder'] }, { epochs: 3, lr: 5e-4 }] },
    { loss: { kind: 'mse' }, cropPx: 128, options: grown, stages: [{ epochs: 1, lr: 1e-4 }] },
  ]);
  assert.deepEqual(manifestStages(stages)[1], { epochs: 1, lr: 1e-3, grow: { headBlocks: 2 }, freeze: ['encoder'] });

  // --from-shipped: a shipped model whose stages are the first whole phases continues with the next one.
  assert.equal(phasesDone('x', phases, stages, manifestStages(stages.slice(0, 1))), 1);
  assert.equal(phasesDone('x', phases, stages, manifestStages(stages.slice(0, 3))), 2);
  assert.throws(() => phasesDone('x', phases, stages, manifestStages(stages.slice(0, 2))), /x: .* not the first whole phases/);
  assert.throws(() => phasesDone('x', phases, stages, [{ epochs: 2, lr: 2e-3 }]), /not the first whole phases/);
  assert.throws(() => phasesDone('x', phases, stages, []), /not the first whole phases/);
  assert.throws(() => phasesDone('x', phases, stages, manifestStages(stages)), /already has every stage/);
});

test('every trained model in the manifest records its recipe\'s stages and datasets, never Set5/Set14', async () => {
  const manifest = JSON.parse(await readFile(new URL('../resources/models/manifest.json', import.meta.url), 'utf8')) as ModelManifest;
  for (const recipe of recipes) {
    assert.ok(!recipe.datasets.some((d) => /set(5|14)/i.test(d)), `${recipe.id} trains on an evaluation set`);
    const entry = manifest.models.find((m) => m.id === recipe.id);
    assert.ok(entry?.trained, `${recipe.id}: not a trained model in the manifest`);
    assert.deepEqual(entry.training!.stages, manifestStages(recipe.stages), `${recipe.id}: the manifest's stages are not the recipe's`);
    const epochs = recipe.stages.reduce((a, s) => a + s.epochs, 0);
    assert.equal(entry.training!.steps % epochs, 0, `${recipe.id}: ${entry.training!.steps} steps are not whole epochs of its ${epochs}`);
  }
});
