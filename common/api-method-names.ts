// The API's method names alone, without their schemas: what code that must stay small imports
// (the sandboxed preload would otherwise bundle all of zod). `apiMethods` in api.ts must have
// exactly these keys, or tsc fails there.
export const apiMethodNames = [
  'appInfo',
  'pickPaths',
  'browse',
  'uploadPhoto',
  'imageInfo',
  'enhancePhoto',
  'saveResult',
  'startBatch',
  'cancelJob',
  'listJobs',
  'listModels',
  'importModel',
  'renameModel',
  'deleteModel',
  'importDataset',
  'listDatasets',
  'datasetThumbnails',
  'deleteDataset',
  'trainingGroups',
  'validateTrainingPlan',
  'startTraining',
  'pauseTraining',
  'resumeTraining',
  'listRuns',
  'exportRun',
  'deleteRun',
] as const;

export type ApiMethodNameList = (typeof apiMethodNames)[number];
