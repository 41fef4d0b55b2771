import type { ApiMethodName, ApiParsedArgs, ApiResult } from '../../common/api.ts';
import type { JobRunner } from '../jobs/runner.ts';
import type { DatasetCatalogue } from '../services/dataset-catalogue.ts';
import type { ModelLibrary } from '../services/model-library.ts';
import type { RunCatalogue } from '../services/run-catalogue.ts';
import type { PathGuard } from '../services/path-guard.ts';
import type { ProviderChoice } from '../engine/model-session.ts';

/** Everything a handler may use; built once per app or server run by `createApiContext`. */
export interface ApiContext {
  mode: 'electron' | 'browser';
  version: string;
  /** The app's private data: user models, results, uploads, datasets. */
  dataDir: string;
  /** Private folder of `enhancePhoto` results (readable by the renderer, written only by jobs). */
  resultsDir: string;
  /** Browser mode: where uploaded photos go. */
  uploadsDir?: string;
  guard: PathGuard;
  jobs: JobRunner;
  models: ModelLibrary;
  /** Imported datasets (`<dataDir>/datasets`). */
  datasets: DatasetCatalogue;
  /** Fine-tuning runs (`<dataDir>/runs`). */
  runs: RunCatalogue;
  /** Electron only: native dialogs; what they return is added to the guard by the dialog code. */
  dialogs?: { pick(kind: ApiParsedArgs<'pickPaths'>['kind'], defaultName?: string): Promise<string[]> };
  /** ONNX Runtime providers for jobs: 'cpu' in tests. */
  providers: ProviderChoice;
  /** ONNX Runtime threads per job. */
  threads?: number;
}

export type Handler<M extends ApiMethodName> = (ctx: ApiContext, args: ApiParsedArgs<M>) => Promise<ApiResult<M>>;
