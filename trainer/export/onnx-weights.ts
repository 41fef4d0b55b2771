import { packedVarints, protoFields } from '../../common/protobuf-fields.ts';
import { buildModel, type ModelSpec } from '../models/build-model.ts';

/**
 * Reads an Enhance ONNX model back into what training needs: the model spec (from the `kind` and
 * `options` metadata the exporter writes) and every parameter by name, conv kernels turned from
 * ONNX's OIHW back to TF.js's HWIO. So a shipped default is its own fine-tuning starting point.
 */
export function readOnnxWeights(bytes: Uint8Array): { spec: ModelSpec; weights: Map<string, Float32Array> } {
  const text = new TextDecoder();
  const meta: Record<string, string> = {};
  const tensors = new Map<string, { dims: number[]; values: Float32Array }>();
  for (const f of protoFields(bytes)) {
    if (f.wire !== 2) continue;
    if (f.field === 14) {
      const kv = protoFields(bytes, f.start, f.end);
      const str = (n: number) => kv.filter((x) => x.field === n).map((x) => text.decode(bytes.subarray(x.start, x.end)))[0] ?? '';
      meta[str(1)] = str(2);
    } else if (f.field === 7) {
      // GraphProto.initializer = 5 (TensorProto: dims 1, data_type 2, float_data 4, name 8, raw_data 9).
      for (const g of protoFields(bytes, f.start, f.end)) {
        if (g.field !== 5 || g.wire !== 2) continue;
        let name = '';
        const dims: number[] = [];
        let values: Float32Array | undefined;
        for (const t of protoFields(bytes, g.start, g.end)) {
          if (t.field === 1) dims.push(...(t.wire === 2 ? packedVarints(bytes, t.start, t.end) : [t.value]));
          else if (t.field === 2 && t.value !== 1) throw new Error(`initializer type ${t.value} is not float32`);
          else if (t.field === 8) name = text.decode(bytes.subarray(t.start, t.end));
          else if ((t.field === 9 || t.field === 4) && t.wire === 2) values = new Float32Array(new Uint8Array(bytes.subarray(t.start, t.end)).buffer);
        }
        if (values) tensors.set(name, { dims, values });
      }
    }
  }
  if (meta.kind !== 'unet' && meta.kind !== 'classifier') throw new Error('not an Enhance model (no kind/options metadata): it can run, but not be fine-tuned');
  const spec = { kind: meta.kind, options: JSON.parse(meta.options) } as ModelSpec;
  const weights = new Map<string, Float32Array>();
  for (const p of buildModel(spec).params) {
    const t = tensors.get(p.name);
    const size = p.shape.reduce((a, b) => a * b, 1);
    if (!t || t.values.length !== size) throw new Error(`the model file lacks parameter ${p.name} [${p.shape}]`);
    weights.set(p.name, p.shape.length === 4 ? oihwToHwio(t.values, p.shape) : t.values);
  }
  return { spec, weights };
}

function oihwToHwio(values: Float32Array, [kh, kw, ci, co]: number[]): Float32Array {
  const out = new Float32Array(values.length);
  for (let o = 0; o < co; o++)
    for (let i = 0; i < ci; i++)
      for (let y = 0; y < kh; y++)
        for (let x = 0; x < kw; x++) out[((y * kw + x) * ci + i) * co + o] = values[((o * ci + i) * kh + y) * kw + x];
  return out;
}
