import type { ModelDef } from './model.ts';
import type { Ops } from './ops.ts';
import { ParamRegistry } from './blocks.ts';
import { buildEncoder, type EncoderOptions } from './encoder.ts';

export interface ClassifierOptions extends EncoderOptions {
  classes: number;
}

/** Stem + stride-2 ResBlocks (the encoder) + global average pool and a dense head. Input RGB in [0, 1]. */
export function createClassifier(o: ClassifierOptions): ModelDef<ClassifierOptions> {
  const reg = new ParamRegistry();
  const encoder = buildEncoder(reg, o);
  const head = reg.dense('classifier/dense', o.widths[o.widths.length - 1], o.classes);
  return {
    kind: 'classifier',
    options: o,
    params: reg.specs,
    forward<T>(ops: Ops<T>, x: T): T {
      const f = encoder.features(ops, ops.addScalar(x, -0.5));
      return ops.poolDense(f[f.length - 1], head);
    },
  };
}
