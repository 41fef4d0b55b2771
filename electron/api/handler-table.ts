import type { ApiMethodName } from '../../common/api.ts';
import type { Handler } from './context.ts';
import { appInfo } from './handlers/app-info.ts';
import { browse } from './handlers/browse.ts';
import { cancelJob } from './handlers/cancel-job.ts';
import { datasetThumbnails } from './handlers/dataset-thumbnails.ts';
import { deleteDataset } from './handlers/delete-dataset.ts';
import { deleteModel } from './handlers/delete-model.ts';
import { deleteRun } from './handlers/delete-run.ts';
import { enhancePhoto } from './handlers/enhance-photo.ts';
import { exportRun } from './handlers/export-run.ts';
import { imageInfo } from './handlers/image-info.ts';
import { importDataset } from './handlers/import-dataset.ts';
import { importModel } from './handlers/import-model.ts';
import { listDatasets } from './handlers/list-datasets.ts';
import { listJobs } from './handlers/list-jobs.ts';
import { listModels } from './handlers/list-models.ts';
import { listRuns } from './handlers/list-runs.ts';
import { pauseTraining } from './handlers/pause-training.ts';
import { pickPaths } from './handlers/pick-paths.ts';
import { renameModel } from './handlers/rename-model.ts';
import { resumeTraining } from './handlers/resume-training.ts';
import { saveResult } from './handlers/save-result.ts';
import { startBatch } from './handlers/start-batch.ts';
import { startTraining } from './handlers/start-training.ts';
import { trainingGroups } from './handlers/training-groups.ts';
import { uploadPhoto } from './handlers/upload-photo.ts';
import { validateTrainingPlan } from './handlers/validate-training-plan.ts';

/** One handler per method, one file per handler; a missing or misspelt entry fails tsc. */
export const handlers: { [M in ApiMethodName]: Handler<M> } = {
  appInfo, pickPaths, browse, uploadPhoto, imageInfo, enhancePhoto, saveResult, startBatch, cancelJob, listJobs,
  listModels, importModel, renameModel, deleteModel,
  importDataset, listDatasets, datasetThumbnails, deleteDataset,
  trainingGroups, validateTrainingPlan, startTraining, pauseTraining, resumeTraining, listRuns, exportRun, deleteRun,
};
