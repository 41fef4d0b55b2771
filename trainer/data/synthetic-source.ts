import { Rng, seedFor } from '../rng.ts';
import type { Batch, DataSource } from '../fit/batch.ts';

export interface SyntheticOptions {
  batchSize: number;
  cropPx: number;
  batchesPerEpoch: number;
  seed?: number;
  /** Input = target + Gaussian noise of this std (0–1 scale). */
  noiseStd?: number;
  /** Repeat batch 0 forever (for overfitting checks). */
  sameBatch?: boolean;
}

/**
 * Smooth random colour patterns (sums of sinusoids) with a noisy input: needs no files, so tests and
 * the speed benchmark run anywhere. Deterministic in (seed, epoch, index).
 */
export function syntheticSource(o: SyntheticOptions): DataSource {
  const px = o.cropPx;
  const make = (epoch: number, index: number): Batch => {
    const rng = new Rng(seedFor(o.seed ?? 0, o.sameBatch ? 'batch' : `${epoch}/${index}`));
    const n = o.batchSize;
    const y = new Float32Array(n * px * px * 3);
    for (let i = 0; i < n; i++) {
      const waves = Array.from({ length: 9 }, () => [rng.next() * 0.5, rng.next() * 0.5, rng.next() * 6.28, rng.next() * 0.3]);
      for (let r = 0; r < px; r++) {
        for (let c = 0; c < px; c++) {
          for (let ch = 0; ch < 3; ch++) {
            let v = 0.5;
            for (let k = ch; k < 9; k += 3) v += waves[k][3] * Math.sin(waves[k][0] * r + waves[k][1] * c + waves[k][2]);
            y[((i * px + r) * px + c) * 3 + ch] = Math.min(1, Math.max(0, v));
          }
        }
      }
    }
    const x = y.map((v) => v + (o.noiseStd ?? 0.1) * rng.normal());
    return { x, xShape: [n, px, px, 3], y, yShape: [n, px, px, 3] };
  };
  return { batchesPerEpoch: o.batchesPerEpoch, batch: make };
}
