import type { ModelDescriptor } from './model-descriptor.ts';

/** `resources/models/manifest.json`: the models the engine and UI offer, found by descriptor, never by file name. */
export interface ModelManifest {
  models: ModelManifestEntry[];
}

/** One training stage: epochs at a peak learning rate, with some layer groups (e.g. 'encoder') frozen. */
export interface Stage {
  epochs: number;
  /** Peak learning rate of this stage's one-cycle schedule. */
  lr: number;
  /** Layer groups kept unchanged in this stage, e.g. ['encoder']. */
  freeze?: string[];
}

/** A stage of a shipped default: a later phase may train with another loss or crop size than the recipe's, or grow the model. */
export interface TrainedStage extends Stage {
  loss?: string;
  cropPx?: number;
  /** Architecture options this stage adds (e.g. { headBlocks: 4 }), their new layers starting as the identity. */
  grow?: Record<string, number>;
}

/** How a shipped model was made, so anyone can rebuild it and see what it cost. */
export interface TrainingRecord {
  architecture: string;
  parameters: number;
  data: string;
  loss: string;
  stages: TrainedStage[];
  steps: number;
  batchSize: number;
  cropPx: number;
  wallSeconds: number;
  machine: string;
  backend: string;
  command: string;
  /** Validation scores after every epoch (`npm run plot:curves -- --write-manifest`). */
  curve?: TrainingCurvePoint[];
}

/** One epoch of a training run, as the learning-curve figure draws it. */
export interface TrainingCurvePoint {
  epoch: number;
  /** 0-based index into `stages`. */
  stage: number;
  trainLoss: number;
  validationLoss?: number;
  psnrY?: number;
  psnrRgb?: number;
  seconds: number;
}

/** One measured score of a model against a baseline on an evaluation set (`npm run bench:quality`). */
export interface QualityMetric {
  dataset: string;
  psnr: number;
  ssim?: number;
  baseline: string;
  baselinePsnr: number;
  /** Colorize: Hasler–Süsstrunk colourfulness of the output. */
  colourfulness?: number;
  /** Colorize: the same measure on the colour originals, for scale. */
  originalColourfulness?: number;
}

export interface ModelManifestEntry {
  id: string;
  /** Relative to the manifest's folder. */
  file: string;
  descriptor: ModelDescriptor;
  /** Hex SHA-256 of the file, so a stale or truncated download is caught before loading. */
  sha256: string;
  bytes: number;
  /** False for placeholders with random weights: they run but do not enhance anything. */
  trained: boolean;
  notes: string;
  training?: TrainingRecord;
  metrics?: QualityMetric[];
}
