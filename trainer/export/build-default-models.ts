// Writes the default models and their manifest into resources/models/. Run with
// `npx tsx trainer/export/build-default-models.ts`. Weights are random (seeded, so the files and
// their hashes are reproducible) until trained ones replace them.
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { TfModel } from '../models/tf-model.ts';
import { createUNet, referenceUNetOptions, type UNetOptions } from '../models/unet.ts';
import { exportModelFile } from './onnx-export.ts';
import type { ModelManifest } from '../../common/model-manifest.ts';

const modelsDir = fileURLToPath(new URL('../../resources/models/', import.meta.url));
const seed = 1;
// The reference widths make ~7.4 MB per model (~30 MB for four); random placeholders are not
// worth that much repository, so they use half the widths (~1.9 MB each).
const placeholderWidths = referenceUNetOptions.widths.map((w) => w / 2);

const defaults: { id: string; options: UNetOptions }[] = [
  { id: 'upscale-x2', options: { task: 'upscale', scale: 2, resolution: 'low-res', widths: placeholderWidths } },
  { id: 'upscale-x4', options: { task: 'upscale', scale: 4, resolution: 'low-res', widths: placeholderWidths } },
  { id: 'decrappify', options: { task: 'decrappify', scale: 1, widths: placeholderWidths } },
  { id: 'colorize', options: { task: 'colorize', scale: 1, widths: placeholderWidths } },
];

await tf.setBackend('cpu');
await mkdir(modelsDir, { recursive: true });
const manifest: ModelManifest = { models: [] };
for (const { id, options } of defaults) {
  const def = createUNet(options);
  const model = new TfModel(def, seed);
  const file = `${id}.onnx`;
  const trainingData = `none: random placeholder weights (seed ${seed})`;
  const bytes = await exportModelFile(model, join(modelsDir, file), { id, trainingData });
  model.dispose();
  manifest.models.push({
    id,
    file,
    descriptor: def.descriptor!,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    bytes: bytes.length,
    trained: false,
    notes: `Placeholder with random weights (seed ${seed}): runs end to end but does not enhance. Widths [${placeholderWidths}] instead of the reference [${referenceUNetOptions.widths}] to keep the repository small.`,
  });
  console.log(`${file}: ${(bytes.length / 1e6).toFixed(2)} MB`);
}
await writeFile(join(modelsDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
