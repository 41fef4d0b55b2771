import { initialValues } from '../models/init.ts';
import type { ParamSpec } from '../models/ops.ts';

/**
 * Where each named parameter lives in one flat Float32 vector. The optimizer, checkpoints and the
 * data-parallel workers all work on such vectors, so weights cross threads and files as one copy.
 */
export class ParamLayout {
  readonly names: string[];
  readonly shapes: number[][];
  readonly offsets: number[];
  readonly sizes: number[];
  readonly total: number;
  private readonly index = new Map<string, number>();

  constructor(private readonly specs: ParamSpec[]) {
    this.names = specs.map((s) => s.name);
    this.shapes = specs.map((s) => s.shape);
    this.sizes = this.shapes.map((s) => s.reduce((a, b) => a * b, 1));
    this.offsets = [];
    let at = 0;
    for (const [i, size] of this.sizes.entries()) {
      this.offsets.push(at);
      at += size;
      this.index.set(this.names[i], i);
    }
    this.total = at;
  }

  /** The model's seeded initial weights (see init.ts) as one vector. */
  initialWeights(seed: number, into: Float32Array = new Float32Array(this.total)): Float32Array {
    this.specs.forEach((p, i) => into.set(initialValues(p, seed), this.offsets[i]));
    return into;
  }

  indexOf(name: string): number {
    const i = this.index.get(name);
    if (i === undefined) throw new Error(`unknown parameter ${name}`);
    return i;
  }

  view(vector: Float32Array, i: number): Float32Array {
    return vector.subarray(this.offsets[i], this.offsets[i] + this.sizes[i]);
  }

  toMap(vector: Float32Array): Map<string, Float32Array> {
    return new Map(this.names.map((n, i) => [n, this.view(vector, i)]));
  }

  fromMap(values: Map<string, Float32Array>, into = new Float32Array(this.total)): Float32Array {
    for (const [i, name] of this.names.entries()) {
      const v = values.get(name);
      if (!v || v.length !== this.sizes[i]) throw new Error(`weights lack ${name} [${this.shapes[i]}]`);
      into.set(v, this.offsets[i]);
    }
    return into;
  }
}
