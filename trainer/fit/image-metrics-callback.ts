import * as tf from '@tensorflow/tfjs-core';
import { yccToRgb } from '../../common/color.ts';
import { psnrRgb, psnrY, ssimY } from '../../common/image-metrics.ts';
import { buildModel } from '../models/build-model.ts';
import { TfModel } from '../models/tf-model.ts';
import type { Batch } from './batch.ts';
import type { Callback, Learner } from './learner.ts';

/** 8-bit interleaved pixels: RGB, or luminance for colorize's input. */
export interface SampleImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3;
}

/** One fixed validation crop after an epoch: the model's input, its output and the target. */
export interface ValidationSample {
  input: SampleImage;
  output: SampleImage;
  target: SampleImage;
}

export interface ImageMetricsOptions {
  /** Validation crops handed to `onSamples` after each epoch (the first ones: the same every epoch). */
  samples?: number;
  onSamples?(samples: ValidationSample[], l: Learner): void | Promise<void>;
}

/** HWC floats in [0, 1] (RGB, or chroma that `luma` completes) to 0–255 RGB. */
function toRgb255(values: Float32Array, pixels: number, luma?: Float32Array): Float32Array {
  const out = new Float32Array(pixels * 3);
  for (let i = 0; i < pixels; i++) {
    const rgb = luma ? yccToRgb(luma[i], values[2 * i], values[2 * i + 1]) : [values[3 * i], values[3 * i + 1], values[3 * i + 2]];
    for (let c = 0; c < 3; c++) out[3 * i + c] = Math.round(Math.min(1, Math.max(0, rgb[c])) * 255);
  }
  return out;
}

const toU8 = (values: Float32Array): Uint8Array => Uint8Array.from(values, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255));

/**
 * After each epoch, Y-PSNR, SSIM and RGB PSNR of the model on the validation batches (border = scale cropped),
 * with the same metric code the benchmarks and the UI use, and optionally the first crops as images.
 * Runs a copy of the model in this thread, released by `cleanup` however the fit ends.
 */
export function imageMetrics(o: ImageMetricsOptions = {}): Callback {
  let model: TfModel | undefined;
  return {
    order: 5,
    async afterEpoch(l) {
      const val: Batch[] = (await l.o.data.validation?.()) ?? [];
      const record = l.history[l.history.length - 1];
      if (!val.length || l.o.spec.kind !== 'unet') return;
      model ??= new TfModel(buildModel(l.o.spec));
      model.writeWeights(l.o.layout.toMap(l.o.weights));
      const border = l.o.spec.options.task === 'upscale' ? l.o.spec.options.scale : 0;
      const colorize = l.o.spec.options.task === 'colorize';
      // Colorize keeps Y exactly, so only RGB PSNR says anything there.
      const sums = { psnrY: 0, ssimY: 0, psnrRgb: 0 };
      let n = 0;
      const samples: ValidationSample[] = [];
      for (const b of val) {
        const pred = tf.tidy(() => model!.apply(tf.tensor(b.x, b.xShape)));
        const p = (await pred.data()) as Float32Array;
        pred.dispose();
        const [count, height, width, ch] = b.yShape;
        const size = height * width;
        for (let i = 0; i < count; i++) {
          const luma = colorize ? b.x.subarray(i * size, (i + 1) * size) : undefined;
          const a = { data: toRgb255(p.subarray(i * size * ch, (i + 1) * size * ch), size, luma), width, height };
          const t = { data: toRgb255(b.y.subarray(i * size * ch, (i + 1) * size * ch), size, luma), width, height };
          if (samples.length < (o.samples ?? 0)) {
            const [, inH, inW, inCh] = b.xShape;
            const inSize = inH * inW * inCh;
            samples.push({
              input: { data: toU8(b.x.subarray(i * inSize, (i + 1) * inSize)), width: inW, height: inH, channels: inCh === 1 ? 1 : 3 },
              output: { data: Uint8Array.from(a.data), width, height, channels: 3 },
              target: { data: Uint8Array.from(t.data), width, height, channels: 3 },
            });
          }
          // Identical crops have infinite PSNR; cap so one of them cannot swamp the mean.
          sums.psnrRgb += Math.min(psnrRgb(a, t, { cropBorderPx: border }), 100);
          if (!colorize) {
            sums.psnrY += Math.min(psnrY(a, t, { cropBorderPx: border }), 100);
            sums.ssimY += ssimY(a, t, { cropBorderPx: border });
          }
          n++;
        }
      }
      record.metrics = colorize ? { psnrRgb: sums.psnrRgb / n } : { psnrY: sums.psnrY / n, ssimY: sums.ssimY / n, psnrRgb: sums.psnrRgb / n };
      if (samples.length) await o.onSamples?.(samples, l);
    },
    cleanup() {
      model?.dispose();
      model = undefined;
    },
  };
}
