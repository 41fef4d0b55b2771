import type { Ops, ParamSpec } from './ops.ts';

/** A value's reach: `radiusPx` input pixels of context on each side, `stepPx` input pixels per element. */
interface Reach { radiusPx: number; stepPx: number }

/**
 * Runs a forward pass over reaches instead of tensors to get how far one output pixel sees, so
 * the engine's tile overlap follows the architecture instead of a guessed constant.
 */
export function receptiveRadiusPx(params: ParamSpec[], forward: <T>(ops: Ops<T>, x: T) => T): number {
  const kernelPx = new Map(params.filter((p) => p.name.endsWith('/kernel')).map((p) => [p.name.slice(0, -7), p.shape[0]]));
  const merge = (parts: Reach[]): Reach => ({
    radiusPx: Math.max(...parts.map((p) => p.radiusPx)),
    stepPx: Math.min(...parts.map((p) => p.stepPx)),
  });
  const ops: Ops<Reach> = {
    conv2d: (x, name, stride) => ({
      radiusPx: x.radiusPx + ((kernelPx.get(name)! - 1) / 2) * x.stepPx,
      stepPx: x.stepPx * stride,
    }),
    act: (x) => x,
    add: (a, b) => merge([a, b]),
    concat: merge,
    avgPool2x: (x) => ({ radiusPx: x.radiusPx + x.stepPx / 2, stepPx: x.stepPx * 2 }),
    upsample2x: (x) => ({ radiusPx: x.radiusPx + x.stepPx / 2, stepPx: x.stepPx / 2 }),
    depthToSpace: (x, block) => ({ radiusPx: x.radiusPx, stepPx: x.stepPx / block }),
    poolDense: () => ({ radiusPx: Infinity, stepPx: 1 }),
    addScalar: (x) => x,
  };
  return Math.ceil(forward(ops, { radiusPx: 0, stepPx: 1 }).radiusPx);
}
