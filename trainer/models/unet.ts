import type { Task } from '../../common/model-descriptor.ts';
import type { ModelDef } from './model.ts';
import type { Ops } from './ops.ts';
import { type Block, ParamRegistry, resBlock } from './blocks.ts';
import { buildEncoder, type EncoderOptions } from './encoder.ts';
import { receptiveRadiusPx } from './receptive-field.ts';

export interface UNetOptions extends EncoderOptions {
  task: Task;
  /** 2 or 4 for upscale; 1 for decrappify and colorize. */
  scale: 1 | 2 | 4;
  /** How a skip joins the up path. */
  skip?: 'add' | 'concat';
  /** A ResBlock on each skip (the lesson's "cross connections"). */
  crossConnections?: boolean;
  /**
   * Upscale only: 'low-res' runs the U-Net on the small image and ends in a pixel shuffle (4×/16×
   * cheaper); 'pre-upsampled' takes the input already resized to the output size (the lesson's way).
   */
  resolution?: 'low-res' | 'pre-upsampled';
  /**
   * Residual blocks at full (input) resolution between the decoder and the output, zero-initialised:
   * depth where fine detail is made, and a trained model grown by them keeps its output at first.
   */
  headBlocks?: number;
}

/** The reference U-Net of the benchmarks: ResBlocks 32-64-128-256 down, mirrored up, 1.84 M parameters. */
export const referenceUNetOptions: UNetOptions = { task: 'decrappify', scale: 1, widths: [32, 64, 128, 256] };

export function createUNet(o: UNetOptions): ModelDef<UNetOptions> {
  const scale = o.task === 'upscale' ? o.scale : 1;
  if (o.task === 'upscale' && scale !== 2 && scale !== 4) throw new Error('upscale needs scale 2 or 4');
  if (o.task !== 'upscale' && o.scale !== 1) throw new Error(`${o.task} works at scale 1`);
  const resolution = o.task === 'upscale' ? (o.resolution ?? 'low-res') : 'pre-upsampled';
  const shuffle = resolution === 'low-res' && scale > 1 ? scale : 1;
  const colorize = o.task === 'colorize';
  const outCh = colorize ? 2 : 3;
  const concat = o.skip === 'concat';
  const w = o.widths;

  const reg = new ParamRegistry();
  const encoder = buildEncoder(reg, o);
  const ups: Block[] = [];
  const crosses: Block[] = [];
  // Up block i goes from level L-i to L-i-1; with concatenated skips its input is twice as wide.
  for (let i = 0; i < w.length - 1; i++) {
    const level = w.length - 1 - i;
    const inCh = concat && i > 0 ? 2 * w[level] : w[level];
    ups.push(resBlock(reg, `decoder/up${i + 1}`, { inCh, outCh: w[level - 1], act: o.act }));
    if (o.crossConnections) crosses.push(resBlock(reg, `decoder/cross${i + 1}`, { inCh: w[level - 1], outCh: w[level - 1], act: o.act }));
  }
  const headCh = concat ? 2 * w[0] : w[0];
  const refine = Array.from({ length: o.headBlocks ?? 0 }, (_, i) =>
    resBlock(reg, `head/refine${i + 1}`, { inCh: headCh, outCh: headCh, act: o.act, zeroInit: true, actAfterSum: false }));
  // Zero-initialised head: an untrained model returns its (upsampled) input, so training starts
  // from a sensible image instead of noise.
  const toOut = resBlock(reg, 'head/out', { inCh: headCh, outCh: outCh * shuffle * shuffle, act: 'none', zeroInit: true });
  const end = resBlock(reg, 'head/end', { inCh: outCh, outCh, act: 'none', zeroInit: true });
  // The residual's base: the input upsampled bicubically (learnable, starts exact), as in the lesson.
  const base = shuffle > 1 ? reg.bicubicUpsample('head/base', 3, shuffle) : undefined;

  const forward = <T>(ops: Ops<T>, x: T): T => {
    const xn = ops.addScalar(x, -0.5);
    // Colorize feeds luminance to all three inputs so an RGB-pretrained encoder fits unchanged.
    const feats = encoder.features(ops, colorize ? ops.concat([xn, xn, xn]) : xn);
    let h = feats[feats.length - 1];
    for (let i = 0; i < ups.length; i++) {
      h = ups[i].forward(ops, ops.upsample2x(h));
      let s = feats[feats.length - 2 - i];
      if (o.crossConnections) s = crosses[i].forward(ops, s);
      h = concat ? ops.concat([h, s]) : ops.add(h, s);
    }
    for (const b of refine) h = b.forward(ops, h);
    h = toOut.forward(ops, h);
    if (colorize) return end.forward(ops, h);
    let skip = xn;
    if (base) {
      h = ops.depthToSpace(h, shuffle);
      skip = ops.depthToSpace(ops.conv2d(xn, base, 1), shuffle);
    }
    return ops.addScalar(end.forward(ops, ops.add(h, skip)), 0.5);
  };

  return {
    kind: 'unet',
    options: o,
    params: reg.specs,
    forward,
    descriptor: {
      task: o.task,
      scale,
      inChannels: colorize ? 1 : 3,
      outChannels: outCh,
      sizeMultiplePx: 2 ** (w.length - 1),
      receptiveMarginPx: receptiveRadiusPx(reg.specs, forward),
      inputRange: [0, 1],
      resolution,
      architecture: `unet-${w.join('-')}${concat ? '-concat' : ''}${o.crossConnections ? '-cross' : ''}${o.headBlocks ? `-head${o.headBlocks}` : ''}`,
    },
  };
}
