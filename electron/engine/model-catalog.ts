import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModelDescriptor, Task } from '../../common/model-descriptor.ts';
import type { ModelManifest, ModelManifestEntry } from '../../common/model-manifest.ts';
import { EngineError } from './errors.ts';
import { type EngineModel, loadModel, type LoadModelOptions } from './model-session.ts';

export const defaultModelsDir = fileURLToPath(new URL('../../resources/models/', import.meta.url));

export interface ModelChoice {
  task: Task;
  /** Upscale only: 2 or 4. */
  scale?: 1 | 2 | 4;
  /** An .onnx file; without it the manifest's first model for the task and scale. */
  modelPath?: string;
  modelsDir?: string;
  /** A foreign model's probed descriptor (it has no Enhance metadata). */
  descriptor?: ModelDescriptor;
}

/** The manifest entry for a task, preferring trained models over placeholders. */
export async function findDefaultModel(task: Task, scale: number, modelsDir = defaultModelsDir): Promise<{ entry: ModelManifestEntry; path: string }> {
  const manifestPath = join(modelsDir, 'manifest.json');
  let manifest: ModelManifest;
  try {
    manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as ModelManifest;
  } catch (e) {
    throw new EngineError('model-not-found', `cannot read the model manifest: ${(e as Error).message}`, manifestPath);
  }
  const fits = manifest.models.filter((m) => m.descriptor.task === task && m.descriptor.scale === scale);
  const entry = fits.find((m) => m.trained) ?? fits[0];
  if (!entry) throw new EngineError('model-not-found', `no ${task} model${task === 'upscale' ? ` for ×${scale}` : ''} is installed; pass --model`, manifestPath);
  return { entry, path: join(modelsDir, entry.file) };
}

/**
 * Loads the model asked for and checks that it does that task at that scale, whatever its
 * file is called. Manifest models are checked against their SHA-256 first.
 */
export async function openModel(choice: ModelChoice, o: LoadModelOptions = {}): Promise<EngineModel> {
  const scale = choice.task === 'upscale' ? choice.scale : 1;
  let model: EngineModel;
  if (choice.modelPath) {
    model = await loadModel(choice.modelPath, { ...o, descriptor: choice.descriptor });
  } else {
    const { entry, path } = await findDefaultModel(choice.task, scale ?? 2, choice.modelsDir);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (e) {
      throw new EngineError('model-not-found', `the manifest lists ${entry.file}, which cannot be read: ${(e as Error).message}`, path);
    }
    const sha = createHash('sha256').update(bytes).digest('hex');
    if (sha !== entry.sha256) throw new EngineError('model-invalid', `SHA-256 ${sha.slice(0, 12)}… differs from the manifest's ${entry.sha256.slice(0, 12)}… (stale or damaged file)`, path);
    model = await loadModel(bytes, o);
  }
  const d = model.descriptor;
  if (d.task !== choice.task || (scale !== undefined && d.scale !== scale)) {
    await model.release();
    throw new EngineError('model-invalid', `the model does ${d.task}${d.task === 'upscale' ? ` ×${d.scale}` : ''}, not ${choice.task}${scale && scale > 1 ? ` ×${scale}` : ''}`, choice.modelPath);
  }
  return model;
}
