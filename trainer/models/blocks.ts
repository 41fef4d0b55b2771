import type { Activation, Ops, ParamSpec } from './ops.ts';

/** Collects the parameters a model declares while it is being built. */
export class ParamRegistry {
  readonly specs: ParamSpec[] = [];

  conv(name: string, kernelPx: number, inCh: number, outCh: number, gain = 1): string {
    const fanIn = kernelPx * kernelPx * inCh;
    this.specs.push({ name: `${name}/kernel`, shape: [kernelPx, kernelPx, inCh, outCh], fanIn,
      init: gain === 1 ? 'he-normal' : gain === 0 ? 'zeros' : { kind: 'he-normal-scaled', gain } });
    this.specs.push({ name: `${name}/bias`, shape: [outCh], fanIn, init: 'zeros' });
    return name;
  }

  /** A 5×5 conv initialised to bicubic upsampling (with a following depthToSpace); trainable like any other. */
  bicubicUpsample(name: string, channels: number, scale: number): string {
    this.specs.push({ name: `${name}/kernel`, shape: [5, 5, channels, channels * scale * scale], fanIn: 25 * channels,
      init: { kind: 'bicubic-upsample', scale } });
    this.specs.push({ name: `${name}/bias`, shape: [channels * scale * scale], fanIn: 25 * channels, init: 'zeros' });
    return name;
  }

  dense(name: string, inCh: number, outCh: number): string {
    this.specs.push({ name: `${name}/kernel`, shape: [inCh, outCh], fanIn: inCh, init: 'he-normal' });
    this.specs.push({ name: `${name}/bias`, shape: [outCh], fanIn: inCh, init: 'zeros' });
    return name;
  }
}

export interface Block {
  forward<T>(ops: Ops<T>, x: T): T;
}

export interface ResBlockOptions {
  inCh: number;
  outCh: number;
  stride?: 1 | 2;
  act?: Activation;
  kernelPx?: 1 | 3;
  /** Start as the identity (or as zero when channels change): for a network's last blocks, so an untrained model returns its input. */
  zeroInit?: boolean;
  /** False drops the activation after the sum (EDSR's block), so a zero-initialised block is exactly the identity. */
  actAfterSum?: boolean;
}

/**
 * The lesson's ResBlock: act(conv2(act(conv1(x))) + shortcut(x)). The stride sits on the second
 * conv; the shortcut is an average pool when striding and a 1×1 conv when channels change.
 */
export function resBlock(reg: ParamRegistry, name: string, o: ResBlockOptions): Block {
  const stride = o.stride ?? 1;
  const act = o.act ?? 'relu';
  const k = o.kernelPx ?? 3;
  const conv1 = reg.conv(`${name}/conv1`, k, o.inCh, o.outCh);
  // A small second conv makes each block start near the identity, which keeps deep stacks trainable.
  const conv2 = reg.conv(`${name}/conv2`, k, o.outCh, o.outCh, o.zeroInit ? 0 : 0.2);
  const idConv = o.inCh === o.outCh ? undefined : reg.conv(`${name}/idconv`, 1, o.inCh, o.outCh, o.zeroInit ? 0 : 1);
  return {
    forward<T>(ops: Ops<T>, x: T): T {
      const y = ops.conv2d(ops.act(ops.conv2d(x, conv1, 1), act), conv2, stride);
      let s = stride === 2 ? ops.avgPool2x(x) : x;
      if (idConv) s = ops.conv2d(s, idConv, 1);
      const sum = ops.add(y, s);
      return o.actAfterSum === false ? sum : ops.act(sum, act);
    },
  };
}
