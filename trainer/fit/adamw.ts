import type { ParamLayout } from './param-layout.ts';

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Decoupled weight decay (Loshchilov & Hutter), applied to kernels only, not to biases. */
  weightDecay?: number;
}

/**
 * AdamW over flat vectors (TF.js has no AdamW). Step counts are kept per parameter so a group that
 * was frozen starts with proper bias correction when it is unfrozen, instead of a 3× jump.
 */
export class AdamW {
  readonly m: Float32Array;
  readonly v: Float32Array;
  readonly steps: Int32Array;
  private readonly b1: number;
  private readonly b2: number;
  private readonly eps: number;
  private readonly wd: number;

  constructor(private readonly layout: ParamLayout, o: AdamWOptions = {}) {
    this.b1 = o.beta1 ?? 0.9;
    this.b2 = o.beta2 ?? 0.99;
    this.eps = o.eps ?? 1e-8;
    this.wd = o.weightDecay ?? 1e-4;
    this.m = new Float32Array(layout.total);
    this.v = new Float32Array(layout.total);
    this.steps = new Int32Array(layout.names.length);
  }

  /** Updates `weights` in place for the parameters at `trainable` indices. */
  step(weights: Float32Array, grads: Float32Array, trainable: number[], lr: number, beta1 = this.b1): void {
    const { m, v, b2, eps } = this;
    for (const p of trainable) {
      const t = ++this.steps[p];
      const bc1 = 1 - beta1 ** t;
      const bc2 = 1 - b2 ** t;
      const decay = this.layout.names[p].endsWith('/kernel') ? 1 - lr * this.wd : 1;
      const stepSize = lr / bc1;
      const start = this.layout.offsets[p];
      const end = start + this.layout.sizes[p];
      for (let i = start; i < end; i++) {
        const g = grads[i];
        const mi = (m[i] = beta1 * m[i] + (1 - beta1) * g);
        const vi = (v[i] = b2 * v[i] + (1 - b2) * g * g);
        weights[i] = weights[i] * decay - (stepSize * mi) / (Math.sqrt(vi / bc2) + eps);
      }
    }
  }
}
