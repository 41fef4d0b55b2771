import * as tf from '@tensorflow/tfjs-core';
import type { ModelDef } from './model.ts';
import type { Ops } from './ops.ts';
import { initialValues } from './init.ts';

export function tfOps(params: Map<string, tf.Tensor>): Ops<tf.Tensor> {
  const get = (name: string): tf.Tensor => {
    const p = params.get(name);
    if (!p) throw new Error(`missing parameter ${name}`);
    return p;
  };
  return {
    conv2d: (x, name, stride) =>
      tf.fused.conv2d({
        x: x as tf.Tensor4D,
        filter: get(`${name}/kernel`) as tf.Tensor4D,
        bias: get(`${name}/bias`),
        strides: stride,
        pad: 'same',
      }),
    act: (x, kind) => (kind === 'relu' ? tf.relu(x) : kind === 'leaky-relu' ? tf.leakyRelu(x, 0.1) : x),
    add: (a, b) => tf.add(a, b),
    concat: (parts) => tf.concat(parts, 3),
    avgPool2x: (x) => tf.avgPool(x as tf.Tensor4D, 2, 2, 'valid'),
    upsample2x: (x) => {
      const [, h, w] = x.shape;
      return tf.image.resizeNearestNeighbor(x as tf.Tensor4D, [h! * 2, w! * 2]);
    },
    // Reshape/transpose in 4-D only: WebGPU lacks some 6-D kernels and tf.depthToSpace has no gradient.
    depthToSpace: (x, b) => {
      const [n, h, w, c] = x.shape as number[];
      const oc = c / (b * b);
      const t = tf.transpose(tf.reshape(x, [n * h, w, b, b * oc]), [0, 2, 1, 3]);
      return tf.reshape(t, [n, h * b, w * b, oc]);
    },
    poolDense: (x, name) => tf.add(tf.matMul(tf.mean(x, [1, 2]) as tf.Tensor2D, get(`${name}/kernel`) as tf.Tensor2D), get(`${name}/bias`)),
    addScalar: (x, v) => tf.add(x, tf.scalar(v)),
  };
}

let nextModelId = 0;

/** A model's weights as TF.js variables, named as the model declares them. */
export class TfModel<O = unknown> {
  readonly params = new Map<string, tf.Variable>();
  private readonly ops: Ops<tf.Tensor>;

  constructor(readonly def: ModelDef<O>, seed = 0) {
    const modelId = nextModelId++;
    for (const spec of def.params) {
      // TF.js variable names are global: a per-model suffix lets several models live in one process.
      this.params.set(spec.name, tf.tidy(() => tf.variable(tf.tensor(initialValues(spec, seed), spec.shape), true, `${spec.name}#${modelId}`)));
    }
    this.ops = tfOps(this.params);
  }

  /** NHWC in, NHWC out (or [n, classes] for a classifier). Not wrapped in tidy: callers own the scope. */
  apply(x: tf.Tensor): tf.Tensor {
    return this.def.forward(this.ops, x);
  }

  predict(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.apply(x));
  }

  /** Names of the parameters in the given layer groups (`encoder`, `decoder`, `head`, `classifier`). */
  paramNamesIn(groups: string[]): string[] {
    return [...this.params.keys()].filter((n) => groups.includes(n.split('/')[0]));
  }

  async readWeights(): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    for (const [name, v] of this.params) out.set(name, (await v.data()) as Float32Array);
    return out;
  }

  writeWeights(values: Map<string, Float32Array>, opts: { only?: string[] } = {}): void {
    for (const [name, v] of this.params) {
      if (opts.only && !opts.only.some((g) => name.startsWith(`${g}/`))) continue;
      const data = values.get(name);
      if (!data) throw new Error(`weights lack ${name}`);
      if (data.length !== v.size) throw new Error(`${name}: ${data.length} values for shape [${v.shape}]`);
      tf.tidy(() => v.assign(tf.tensor(data, v.shape)));
    }
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    this.params.clear();
  }
}
