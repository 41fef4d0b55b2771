import type { ModelDef } from './model.ts';
import { createClassifier, type ClassifierOptions } from './classifier.ts';
import { createUNet, type UNetOptions } from './unet.ts';

/** A model as data (what checkpoints, workers and exports carry); `buildModel` turns it back into a ModelDef. */
export type ModelSpec = { kind: 'unet'; options: UNetOptions } | { kind: 'classifier'; options: ClassifierOptions };

export function buildModel(spec: ModelSpec): ModelDef {
  return spec.kind === 'unet' ? createUNet(spec.options) : createClassifier(spec.options);
}
