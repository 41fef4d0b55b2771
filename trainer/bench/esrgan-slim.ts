// UpscalerJS's ESRGAN-slim (npm @upscalerjs/esrgan-slim) on plain @tensorflow/tfjs, for bench:infer.
// The `upscaler` package is not needed: the model is a Keras layers-model of standard layers
// (input and output 0–255, NHWC), and its patching is reproduced here. Loading goes through
// tf.io.fromMemory because Node has no file:// loader without tfjs-node.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';

/** The package also has ×3 (patch size 129) and ×8; the bench compares ×2 and ×4. */
export type EsrganSlimScale = 2 | 4;

const packageName = '@upscalerjs/esrgan-slim';

/** UpscalerJS's patch size for this model at ×2 and ×4. */
export const patchSizePx = 128;
/** Context on each side of a patch, cropped from the output: hides the seams of 'same' padding. */
export const paddingPx = 8;

/**
 * The package's folder, or undefined when it is not installed. Its `exports` map hides the model
 * files from require.resolve, so this walks Node's own lookup folders instead.
 */
export function esrganSlimDir(): string | undefined {
  const require = createRequire(import.meta.url);
  return require.resolve
    .paths(packageName)
    ?.map((d) => join(d, packageName))
    .find((d) => existsSync(join(d, 'models', 'x2', 'model.json')));
}

export async function loadEsrganSlim(scale: EsrganSlimScale): Promise<tf.LayersModel> {
  const pkg = esrganSlimDir();
  if (!pkg) throw new Error(`${packageName} is not installed`);
  const dir = join(pkg, 'models', `x${scale}`);
  const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
  const weights = await Promise.all(json.weightsManifest.flatMap((group) => group.paths.map((p) => readFile(join(dir, p)))));
  const weightData = Buffer.concat(weights);
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((group) => group.weights),
      weightData: weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.byteLength),
    }),
  );
}

/** One padded patch through the model, so that timings leave out kernel setup as they leave out loading. */
export function warmUp(model: tf.LayersModel): void {
  const side = patchSizePx + 2 * paddingPx;
  tf.tidy(() => (model.predict(tf.zeros([1, side, side, 3])) as tf.Tensor).dataSync());
}

/**
 * Upscales packed RGB bytes patch by patch, as UpscalerJS does with patchSize/padding, so the
 * model's working memory is one patch whatever the image size. Unlike UpscalerJS, which
 * concatenates float32 patches into one output tensor, the output is assembled as bytes.
 */
export async function upscaleRgb(model: tf.LayersModel, scale: EsrganSlimScale, rgb: Uint8Array, widthPx: number, heightPx: number): Promise<Uint8ClampedArray> {
  const outWidth = widthPx * scale;
  // A clamped array rounds and clamps the model's floats to 0–255 as they are copied in.
  const out = new Uint8ClampedArray(outWidth * heightPx * scale * 3);
  for (let y = 0; y < heightPx; y += patchSizePx) {
    for (let x = 0; x < widthPx; x += patchSizePx) {
      const h = Math.min(patchSizePx, heightPx - y);
      const w = Math.min(patchSizePx, widthPx - x);
      const y0 = Math.max(0, y - paddingPx);
      const x0 = Math.max(0, x - paddingPx);
      const ph = Math.min(heightPx, y + h + paddingPx) - y0;
      const pw = Math.min(widthPx, x + w + paddingPx) - x0;
      const patch = new Float32Array(ph * pw * 3);
      for (let r = 0; r < ph; r++) {
        const src = ((y0 + r) * widthPx + x0) * 3;
        patch.set(rgb.subarray(src, src + pw * 3), r * pw * 3);
      }
      const upscaled = tf.tidy(() => {
        const full = model.predict(tf.tensor4d(patch, [1, ph, pw, 3])) as tf.Tensor4D;
        return full.slice([0, (y - y0) * scale, (x - x0) * scale, 0], [1, h * scale, w * scale, 3]);
      });
      const data = await upscaled.data();
      upscaled.dispose();
      const rowLength = w * scale * 3;
      for (let r = 0; r < h * scale; r++) {
        out.set(data.subarray(r * rowLength, (r + 1) * rowLength), ((y * scale + r) * outWidth + x * scale) * 3);
      }
    }
  }
  return out;
}

/** File to file, decoded and encoded with sharp like our engine (PNG, default settings). */
export async function upscaleFile(model: tf.LayersModel, scale: EsrganSlimScale, inPath: string, outPath: string): Promise<void> {
  const { data, info } = await sharp(inPath).autoOrient().toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const out = await upscaleRgb(model, scale, data, info.width, info.height);
  await sharp(out, { raw: { width: info.width * scale, height: info.height * scale, channels: 3 } })
    .png()
    .toFile(outPath);
}
