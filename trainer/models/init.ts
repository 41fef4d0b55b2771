import { bicubicPhaseWeights } from '../../common/resize.ts';
import { Rng, seedFor } from '../rng.ts';
import type { ParamSpec } from './ops.ts';

/**
 * A [5, 5, C, C·s²] kernel that, followed by depthToSpace(s), is bicubic upsampling of each channel:
 * output channel (py·s + px)·C + c reads input channel c only (DCR order, as depthToSpace expects).
 */
function bicubicUpsampleKernel(shape: number[], scale: number): Float32Array {
  const [kh, kw, inCh, outCh] = shape;
  const w = bicubicPhaseWeights(scale);
  const out = new Float32Array(kh * kw * inCh * outCh);
  for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let py = 0; py < scale; py++) for (let px = 0; px < scale; px++) {
    for (let c = 0; c < inCh; c++) out[((y * kw + x) * inCh + c) * outCh + (py * scale + px) * inCh + c] = w[py][y] * w[px][x];
  }
  return out;
}

/** Initial values computed in JS so a seed gives the same weights on every backend. */
export function initialValues(spec: ParamSpec, seed: number): Float32Array {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  if (spec.init === 'zeros') return out;
  if (typeof spec.init === 'object' && spec.init.kind === 'bicubic-upsample') return bicubicUpsampleKernel(spec.shape, spec.init.scale);
  const gain = typeof spec.init === 'object' ? spec.init.gain : 1;
  const std = gain * Math.sqrt(2 / spec.fanIn);
  const rng = new Rng(seedFor(seed, spec.name));
  for (let i = 0; i < n; i++) out[i] = rng.normal() * std;
  return out;
}
