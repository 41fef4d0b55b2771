import type { Activation, Ops } from './ops.ts';
import { type Block, type ParamRegistry, resBlock } from './blocks.ts';

export interface EncoderOptions {
  /** Channel widths of the start block and each stride-2 down block, e.g. [32, 64, 128, 256]. */
  widths: number[];
  act?: Activation;
}

export interface Encoder {
  /** Runs the encoder and returns every stage's output, full resolution first. */
  features<T>(ops: Ops<T>, x: T): T[];
}

/** Shared by the classifier and the U-Net's down path, so weights copy across by name (`encoder/...`). */
export function buildEncoder(reg: ParamRegistry, o: EncoderOptions): Encoder {
  if (o.widths.length < 2) throw new Error('encoder needs at least two widths');
  const start = resBlock(reg, 'encoder/start', { inCh: 3, outCh: o.widths[0], act: o.act });
  const downs: Block[] = [];
  for (let i = 1; i < o.widths.length; i++) {
    downs.push(resBlock(reg, `encoder/down${i}`, { inCh: o.widths[i - 1], outCh: o.widths[i], stride: 2, act: o.act }));
  }
  return {
    features<T>(ops: Ops<T>, x: T): T[] {
      const out = [start.forward(ops, x)];
      for (const d of downs) out.push(d.forward(ops, out[out.length - 1]));
      return out;
    },
  };
}
