import { writeFileAtomic } from '../atomic-write.ts';
import type { ModelDef } from '../models/model.ts';
import type { Ops, ParamSpec } from '../models/ops.ts';
import type { TfModel } from '../models/tf-model.ts';
import { type Attribute, encodeModel, floatTensor, type Node, type Tensor, type ValueInfo } from './onnx-proto.ts';

export const inputName = 'input';
export const outputName = 'output';

/** Metadata the exporter derives from the model; callers may add keys but not replace these. */
function modelMetadata(def: ModelDef, classes: number): Record<string, string> {
  const options = JSON.stringify(def.options);
  const d = def.descriptor;
  if (!d) return { kind: def.kind, classes: String(classes), inputNormalisation: 'rgb 0..1 NCHW', options };
  return {
    kind: def.kind,
    task: d.task,
    scale: String(d.scale),
    inChannels: String(d.inChannels),
    outChannels: String(d.outChannels),
    sizeMultiplePx: String(d.sizeMultiplePx),
    receptiveMarginPx: String(d.receptiveMarginPx),
    resolution: d.resolution,
    architecture: d.architecture,
    inputNormalisation: d.inChannels === 1 ? 'luminance 0..1 NCHW' : 'rgb 0..1 NCHW',
    options,
  };
}

/** TF.js conv kernels are HWIO; ONNX Conv wants OIHW. */
function hwioToOihw(values: Float32Array, [kh, kw, ci, co]: number[]): Float32Array {
  const out = new Float32Array(values.length);
  for (let o = 0; o < co; o++)
    for (let i = 0; i < ci; i++)
      for (let y = 0; y < kh; y++)
        for (let x = 0; x < kw; x++) out[((o * ci + i) * kh + y) * kw + x] = values[((y * kw + x) * ci + i) * co + o];
  return out;
}

/**
 * Runs the model's forward pass over value names, emitting one NCHW ONNX node per op, so the
 * exported graph is the trained graph by construction. Input `input` [N, C, H, W] float32 with
 * dynamic N, H, W; output `output` (NCHW image, or [N, classes] for a classifier).
 */
export function exportOnnx(def: ModelDef, weights: Map<string, Float32Array>, metadata: Record<string, string> = {}): Uint8Array {
  const specs = new Map<string, ParamSpec>(def.params.map((p) => [p.name, p]));
  const nodes: Node[] = [];
  const initializers = new Map<string, Tensor>();
  let counter = 0;
  let classes = 0;

  const weight = (name: string, toOnnx: (v: Float32Array, shape: number[]) => { dims: number[]; values: Float32Array }): string => {
    if (initializers.has(name)) return name;
    const spec = specs.get(name);
    const values = weights.get(name);
    if (!spec) throw new Error(`model declares no parameter ${name}`);
    if (!values) throw new Error(`weights lack ${name}`);
    const size = spec.shape.reduce((a, b) => a * b, 1);
    if (values.length !== size) throw new Error(`${name}: ${values.length} values for shape [${spec.shape}]`);
    const t = toOnnx(values, spec.shape);
    initializers.set(name, floatTensor(name, t.dims, t.values));
    return name;
  };
  const asIs = (values: Float32Array, shape: number[]) => ({ dims: shape, values });
  const constant = (name: string, dims: number[], values: number[]): string => {
    if (!initializers.has(name)) initializers.set(name, floatTensor(name, dims, Float32Array.from(values)));
    return name;
  };
  const node = (opType: string, inputs: string[], attributes?: Attribute[]): string => {
    const out = `${opType.toLowerCase()}_${++counter}`;
    nodes.push({ opType, name: out, inputs, outputs: [out], attributes });
    return out;
  };

  const ops: Ops<string> = {
    conv2d: (x, name, stride) => {
      const kernel = weight(`${name}/kernel`, (v, shape) => ({ dims: [shape[3], shape[2], shape[0], shape[1]], values: hwioToOihw(v, shape) }));
      const kernelPx = specs.get(kernel)!.shape[0];
      return node('Conv', [x, kernel, weight(`${name}/bias`, asIs)], [
        { name: 'kernel_shape', ints: [kernelPx, kernelPx] },
        { name: 'strides', ints: [stride, stride] },
        // Padding depends on the (dynamic) input size for stride 2; TF 'same' puts the odd pixel last.
        { name: 'auto_pad', string: 'SAME_UPPER' },
      ]);
    },
    act: (x, kind) => (kind === 'relu' ? node('Relu', [x]) : kind === 'leaky-relu' ? node('LeakyRelu', [x], [{ name: 'alpha', float: 0.1 }]) : x),
    add: (a, b) => node('Add', [a, b]),
    concat: (parts) => node('Concat', parts, [{ name: 'axis', int: 1 }]),
    avgPool2x: (x) => node('AveragePool', [x], [
      { name: 'kernel_shape', ints: [2, 2] },
      { name: 'strides', ints: [2, 2] },
    ]),
    // 'asymmetric' + 'floor' gives src = floor(dst / 2), TF's resizeNearestNeighbor without half-pixel centres.
    upsample2x: (x) => node('Resize', [x, '', constant('const/scales_2x', [4], [1, 1, 2, 2])], [
      { name: 'mode', string: 'nearest' },
      { name: 'coordinate_transformation_mode', string: 'asymmetric' },
      { name: 'nearest_mode', string: 'floor' },
    ]),
    depthToSpace: (x, block) => node('DepthToSpace', [x], [
      { name: 'blocksize', int: block },
      { name: 'mode', string: 'DCR' },
    ]),
    poolDense: (x, name) => {
      const kernel = weight(`${name}/kernel`, asIs);
      classes = specs.get(kernel)!.shape[1];
      const pooled = node('Flatten', [node('GlobalAveragePool', [x])], [{ name: 'axis', int: 1 }]);
      return node('Gemm', [pooled, kernel, weight(`${name}/bias`, asIs)]);
    },
    addScalar: (x, value) => node('Add', [x, constant(`const/${value}`, [], [value])]),
  };

  const d = def.descriptor;
  const input: ValueInfo = { name: inputName, shape: ['N', d?.inChannels ?? 3, 'H', 'W'] };
  const last = def.forward(ops, inputName);
  // The graph output needs its own name; rename the last node's output rather than adding an Identity.
  const producer = nodes.find((n) => n.outputs[0] === last);
  if (!producer) throw new Error('the model output is not computed by any node');
  producer.outputs = [outputName];
  for (const n of nodes) n.inputs = n.inputs.map((i) => (i === last ? outputName : i));

  const sameSize = !d || d.scale === 1 || d.resolution === 'pre-upsampled';
  const output: ValueInfo = d
    ? { name: outputName, shape: ['N', d.outChannels, sameSize ? 'H' : 'H_out', sameSize ? 'W' : 'W_out'] }
    : { name: outputName, shape: ['N', classes] };

  const derived = modelMetadata(def, classes);
  for (const key of Object.keys(metadata)) if (key in derived) throw new Error(`metadata key ${key} is set by the exporter`);

  return encodeModel({
    producerName: 'enhance',
    graph: { name: d?.architecture ?? def.kind, nodes, initializers: [...initializers.values()], inputs: [input], outputs: [output] },
    metadata: { ...derived, ...metadata },
  });
}

/** Exports the model's current weights to `path`, written to a temporary file first so readers never see half a model. */
export async function exportModelFile(model: TfModel, path: string, metadata: Record<string, string> = {}): Promise<Uint8Array> {
  const bytes = exportOnnx(model.def, await model.readWeights(), metadata);
  writeFileAtomic(path, [bytes]);
  return bytes;
}
