import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultModelsDir } from '../engine/model-catalog.ts';
import { JobRunner } from '../jobs/runner.ts';
import { DatasetCatalogue } from '../services/dataset-catalogue.ts';
import { ModelLibrary } from '../services/model-library.ts';
import { RunCatalogue } from '../services/run-catalogue.ts';
import { PathGuard } from '../services/path-guard.ts';
import type { ApiContext } from './context.ts';
import type { ProviderChoice } from '../engine/model-session.ts';

export interface ApiContextOptions {
  mode: 'electron' | 'browser';
  /** The app's private folder (Electron: app.getPath('userData'); browser mode: --data). */
  dataDir: string;
  /** Shipped models; default resources/models beside the sources. */
  modelsDir?: string;
  /** Browser mode: the only folders the page may browse, read and write (`enhance serve --root`). */
  roots?: string[];
  dialogs?: ApiContext['dialogs'];
  providers?: ProviderChoice;
  threads?: number;
  /** 'in-process' only for tests that must not start threads; the app and server use workers. */
  jobMode?: 'worker' | 'in-process';
  /** Data-parallel threads per training job (default: the trainer's, 2 on wasm); tests on few cores use 0. */
  trainWorkers?: number;
}

const version = (JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version: string }).version;

export function createApiContext(o: ApiContextOptions): ApiContext {
  const resultsDir = join(o.dataDir, 'results');
  const uploadsDir = o.mode === 'browser' ? join(o.dataDir, 'uploads') : undefined;
  for (const d of [resultsDir, uploadsDir, join(o.dataDir, 'models')]) if (d) mkdirSync(d, { recursive: true });
  const guard = new PathGuard();
  for (const root of o.roots ?? []) guard.allowFolder(root, ['read', 'write']);
  guard.allowFolder(resultsDir, ['read']);
  if (uploadsDir) guard.allowFolder(uploadsDir, ['read']);
  const jobs = new JobRunner({ mode: o.jobMode ?? 'worker' });
  const models = new ModelLibrary(o.modelsDir ?? defaultModelsDir, join(o.dataDir, 'models'));
  // Each allows reading the thumbnails and training samples it hands out, file by file.
  const datasets = new DatasetCatalogue(o.dataDir, jobs, guard);
  const runs = new RunCatalogue(o.dataDir, { jobs, datasets, models, guard, workers: o.trainWorkers });
  return {
    mode: o.mode,
    version,
    dataDir: o.dataDir,
    resultsDir,
    uploadsDir,
    guard,
    jobs,
    models,
    datasets,
    runs,
    dialogs: o.dialogs,
    providers: o.providers ?? 'auto',
    threads: o.threads,
  };
}
