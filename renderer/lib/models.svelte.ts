// The model list, loaded once and reloaded after an import, rename or delete, shared by all views.
import type { ModelInfo } from '../../common/jobs.ts';
import type { EnhanceError } from '../../common/errors.ts';
import { api, toEnhanceError } from './api.ts';
import type { Task } from './types.ts';

export const models: { list: ModelInfo[]; loaded: boolean; error?: EnhanceError } = $state({ list: [], loaded: false });

export async function reloadModels(): Promise<void> {
  try {
    models.list = await api.listModels({});
    models.error = undefined;
  } catch (e) {
    models.error = toEnhanceError(e);
  } finally {
    models.loaded = true;
  }
}

/** Models that do the task (and, for upscale, the scale), shipped first. */
export function modelsFor(list: ModelInfo[], task: Task, scale: 2 | 4): ModelInfo[] {
  return list
    .filter((m) => m.descriptor.task === task && (task !== 'upscale' || m.descriptor.scale === scale))
    .sort((a, b) => Number(b.source === 'shipped') - Number(a.source === 'shipped'));
}

/** Keeps a still-valid choice; otherwise the shipped model (the one the engine would pick). */
export function chooseModel(candidates: ModelInfo[], current: string | undefined): string | undefined {
  if (current && candidates.some((m) => m.id === current)) return current;
  return (candidates.find((m) => m.source === 'shipped') ?? candidates[0])?.id;
}

export function modelLabel(m: ModelInfo): string {
  const kind = m.source === 'shipped' ? (m.trained ? 'shipped' : 'shipped, untrained') : m.assumptions ? 'imported, probed' : 'yours';
  return `${m.name} (${kind})`;
}
