import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelInfo } from '../../common/jobs.ts';
import type { ModelDescriptor, Task } from '../../common/model-descriptor.ts';
import type { ModelManifest } from '../../common/model-manifest.ts';
import { EngineError } from '../engine/errors.ts';
import { findDefaultModel } from '../engine/model-catalog.ts';
import { descriptorFromMetadata, readOnnxMetadata } from '../engine/onnx-metadata.ts';
import { probeOnnxModel } from '../engine/probe-model.ts';
import type { ModelRef } from '../jobs/job-types.ts';
import { writeFileAtomic } from '../../trainer/atomic-write.ts';

interface UserModel {
  id: string;
  name: string;
  file: string;
  descriptor: ModelDescriptor;
  bytes: number;
  sha256: string;
  trainedOn?: string;
  /** Set for models without Enhance metadata: the engine uses this descriptor instead. */
  assumptions?: string[];
  foreign: boolean;
}

interface Catalogue {
  version: 1;
  models: UserModel[];
}

/**
 * The shipped models (read-only, from the manifest) and the user's own library: imported or
 * trained .onnx files copied into the app's data folder, listed in a small catalogue written atomically.
 */
export class ModelLibrary {
  private readonly cataloguePath: string;

  constructor(readonly shippedDir: string, readonly userDir: string) {
    this.cataloguePath = join(userDir, 'library.json');
  }

  private read(): Catalogue {
    if (!existsSync(this.cataloguePath)) return { version: 1, models: [] };
    return JSON.parse(readFileSync(this.cataloguePath, 'utf8')) as Catalogue;
  }

  private write(c: Catalogue): void {
    writeFileAtomic(this.cataloguePath, [Buffer.from(`${JSON.stringify(c, null, 1)}\n`)]);
  }

  async list(): Promise<ModelInfo[]> {
    const manifest = JSON.parse(await readFile(join(this.shippedDir, 'manifest.json'), 'utf8')) as ModelManifest;
    const shipped = manifest.models.map((m): ModelInfo => ({
      id: m.id, name: m.id, source: 'shipped', descriptor: m.descriptor, bytes: m.bytes, trained: m.trained,
      trainedOn: m.training?.data, notes: m.notes, metrics: m.metrics,
    }));
    const user = this.read().models.map((m): ModelInfo => ({
      id: m.id, name: m.name, source: 'user', descriptor: m.descriptor, bytes: m.bytes, trained: true, trainedOn: m.trainedOn, assumptions: m.assumptions,
    }));
    return [...shipped, ...user];
  }

  /** The model a job should run: the given id (checked against the task), or the installed default. */
  async resolve(modelId: string | undefined, task: Task, scale?: 2 | 4): Promise<ModelRef> {
    if (modelId === undefined) {
      const { entry } = await findDefaultModel(task, task === 'upscale' ? (scale ?? 2) : 1, this.shippedDir);
      return { modelId: entry.id, modelsDir: this.shippedDir };
    }
    const user = this.read().models.find((m) => m.id === modelId);
    const shipped = user ? undefined : (await this.list()).find((m) => m.id === modelId && m.source === 'shipped');
    const d = user?.descriptor ?? shipped?.descriptor;
    if (!d) throw new EngineError('unknown-id', `there is no model ${modelId}`);
    if (d.task !== task || (task === 'upscale' && scale !== undefined && d.scale !== scale)) {
      throw new EngineError('model-invalid', `model ${modelId} does ${d.task}${d.task === 'upscale' ? ` ×${d.scale}` : ''}, not ${task}${task === 'upscale' && scale ? ` ×${scale}` : ''}`);
    }
    if (shipped) return { modelId, modelsDir: this.shippedDir };
    return { modelId, modelPath: join(this.userDir, user!.file), descriptor: user!.foreign ? user!.descriptor : undefined };
  }

  /** Copies a model into the library: an Enhance model by its metadata, any other ONNX by probing it. */
  async importFile(path: string, name?: string, trainedOn?: string): Promise<ModelInfo> {
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (e) {
      throw new EngineError('model-invalid', `cannot read the model: ${(e as Error).message}`, path);
    }
    let descriptor: ModelDescriptor;
    let assumptions: string[] | undefined;
    let meta: Record<string, string> = {};
    try {
      meta = readOnnxMetadata(bytes);
    } catch {
      // Not even a readable ONNX header: the probe below names the problem.
    }
    try {
      descriptor = descriptorFromMetadata(meta);
    } catch {
      ({ descriptor, assumptions } = await probeOnnxModel(bytes, path));
    }
    const id = `user-${randomUUID().slice(0, 8)}`;
    await mkdir(this.userDir, { recursive: true });
    const file = `${id}.onnx`;
    writeFileAtomic(join(this.userDir, file), [bytes]);
    const model: UserModel = {
      id, name: name ?? path.split(/[\\/]/).pop()!.replace(/\.onnx$/i, ''), file, descriptor, bytes: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'), trainedOn: trainedOn ?? meta.trainingData, assumptions, foreign: assumptions !== undefined,
    };
    const c = this.read();
    c.models.push(model);
    this.write(c);
    return (await this.list()).find((m) => m.id === id)!;
  }

  async rename(id: string, name: string): Promise<ModelInfo> {
    const c = this.read();
    const m = c.models.find((x) => x.id === id);
    if (!m) throw new EngineError(await this.isShipped(id) ? 'usage' : 'unknown-id', await this.isShipped(id) ? 'shipped models cannot be renamed' : `there is no model ${id}`);
    m.name = name;
    this.write(c);
    return (await this.list()).find((x) => x.id === id)!;
  }

  async remove(id: string): Promise<boolean> {
    const c = this.read();
    const m = c.models.find((x) => x.id === id);
    if (!m) throw new EngineError(await this.isShipped(id) ? 'usage' : 'unknown-id', await this.isShipped(id) ? 'shipped models cannot be deleted' : `there is no model ${id}`);
    c.models = c.models.filter((x) => x.id !== id);
    this.write(c);
    await rm(join(this.userDir, m.file), { force: true });
    return true;
  }

  private async isShipped(id: string): Promise<boolean> {
    return (await this.list()).some((m) => m.id === id && m.source === 'shipped');
  }
}
