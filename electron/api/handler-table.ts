import type { ApiMethodName } from '../../common/api.ts';
import type { Handler } from './context.ts';
import { appInfo } from './handlers/app-info.ts';
import { browse } from './handlers/browse.ts';
import { cancelJob } from './handlers/cancel-job.ts';
import { deleteModel } from './handlers/delete-model.ts';
import { enhancePhoto } from './handlers/enhance-photo.ts';
import { imageInfo } from './handlers/image-info.ts';
import { importModel } from './handlers/import-model.ts';
import { listJobs } from './handlers/list-jobs.ts';
import { listModels } from './handlers/list-models.ts';
import { pickPaths } from './handlers/pick-paths.ts';
import { renameModel } from './handlers/rename-model.ts';
import { saveResult } from './handlers/save-result.ts';
import { startBatch } from './handlers/start-batch.ts';
import { uploadPhoto } from './handlers/upload-photo.ts';

/** One handler per method, one file per handler; a missing or misspelt entry fails tsc. */
export const handlers: { [M in ApiMethodName]: Handler<M> } = {
  appInfo, pickPaths, browse, uploadPhoto, imageInfo, enhancePhoto, saveResult, startBatch, cancelJob, listJobs,
  listModels, importModel, renameModel, deleteModel,
};
