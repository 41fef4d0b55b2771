// Conv2D backward kernels for the wasm and WebGPU backends, built only from
// each backend's own forward kernels (Conv2D, Transpose, PadV2, ...).
// Why: wasm has no Conv2DBackpropFilter at all and a slow, naive
// Conv2DBackpropInput; WebGPU's built-in backward kernels are slow. Both
// gradients are forward convolutions in disguise, and forward Conv2D is the
// one kernel every backend makes fast (XNNPACK on wasm, tiled matmul on WebGPU).
import * as tf from '@tensorflow/tfjs-core';
import type {
  Conv2DBackpropFilterAttrs,
  Conv2DBackpropInputAttrs,
  KernelBackend,
  KernelFunc,
  NamedAttrMap,
  NamedTensorInfoMap,
  TensorInfo,
} from '@tensorflow/tfjs-core';

type BackendName = 'wasm' | 'webgpu';
type Shape4 = [number, number, number, number];

/** Marks our kernel funcs, so a second registration (even from a second copy
 * of this module) is recognised and skipped. */
const OURS = Symbol.for('enhance.conv-grad-kernels');

const NEEDED = ['Conv2D', 'BatchMatMul', 'Transpose', 'PadV2', 'Slice', 'Concat', 'Reshape'] as const;
type Needed = (typeof NEEDED)[number];

/** Runs backend kernels the way backend kernels call each other, remembering
 * every output so that all intermediates can be freed in one place. */
class Scope {
  private readonly made: TensorInfo[] = [];

  constructor(
    private readonly kernels: Record<Needed, KernelFunc>,
    private readonly backend: KernelBackend,
  ) {}

  private run(name: Needed, inputs: NamedTensorInfoMap, attrs: NamedAttrMap): TensorInfo {
    const out = this.kernels[name]({ inputs, backend: this.backend, attrs }) as TensorInfo;
    this.made.push(out);
    return out;
  }

  /** Frees every intermediate except `keep` (the kernel's result). */
  release(keep?: TensorInfo): void {
    for (const t of this.made) if (t !== keep) this.backend.disposeData(t.dataId);
  }

  transpose(x: TensorInfo, perm: number[]): TensorInfo {
    return this.run('Transpose', { x }, { perm });
  }

  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  pad(x: TensorInfo, paddings: [number, number][]): TensorInfo {
    return this.run('PadV2', { x }, { paddings, constantValue: 0 });
  }

  slice(x: TensorInfo, begin: number[], size: number[]): TensorInfo {
    return this.run('Slice', { x }, { begin, size });
  }

  concat(xs: TensorInfo[], axis: number): TensorInfo {
    return xs.length === 1 ? xs[0] : this.run('Concat', xs as unknown as NamedTensorInfoMap, { axis });
  }

  matMul(a: TensorInfo, b: TensorInfo): TensorInfo {
    return this.run('BatchMatMul', { a, b }, { transposeA: false, transposeB: false });
  }

  /** Stride-1 NHWC convolution computing exactly `out` rows/cols, given the
   * (possibly negative) padding wanted before each spatial axis. Both backends'
   * Conv2D take explicit (asymmetric) pads, so padding costs no copy; only a
   * negative pad, or a conv that yields more than `out`, needs a Slice. */
  conv(x: TensorInfo, filter: TensorInfo, dilation: [number, number],
    before: [number, number], out: [number, number]): TensorInfo {
    const plan = [1, 2].map((axis, i) => {
      const span = dilation[i] * (filter.shape[i] - 1) + 1;
      const after = out[i] + span - 1 - x.shape[axis] - before[i];
      return { lo: Math.max(before[i], 0), hi: Math.max(after, 0), crop: Math.max(-before[i], 0) };
    });
    const [ph, pw] = plan;
    const y = this.run('Conv2D', { x, filter }, {
      strides: 1,
      pad: [[0, 0], [ph.lo, ph.hi], [pw.lo, pw.hi], [0, 0]],
      dataFormat: 'NHWC',
      dilations: dilation,
    });
    return this.crop(y, ph.crop, pw.crop, out[0], out[1]);
  }

  /** x[:, top : top+h, left : left+w, :], copying only when that is not all of x. */
  crop(x: TensorInfo, top: number, left: number, h: number, w: number): TensorInfo {
    if (top === 0 && left === 0 && x.shape[1] === h && x.shape[2] === w) return x;
    return this.slice(x, [0, top, left, 0], [x.shape[0], h, w, x.shape[3]]);
  }
}

function forwardInfo(
  xShape: Shape4, filterShape: Shape4,
  attrs: Conv2DBackpropFilterAttrs | Conv2DBackpropInputAttrs,
): tf.backend_util.Conv2DInfo {
  const dilations = (attrs as { dilations?: number | [number, number] }).dilations;
  if (dilations !== undefined && [dilations].flat().some((d) => d !== 1)) {
    throw new Error(`conv-grad-kernels: dilations ${dilations} are not supported (only 1)`);
  }
  if (attrs.dataFormat === 'NCHW') {
    throw new Error('conv-grad-kernels: only NHWC is supported, got NCHW');
  }
  return tf.backend_util.computeConv2DInfo(
    xShape, filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
}

/** dW[kh,kw,ci,co] = sum_{n,i,j} x[n, s*i+kh-top, s*j+kw-left, ci] * dy[n,i,j,co]. */
function backpropFilter(s: Scope, x: TensorInfo, dy: TensorInfo,
  attrs: Conv2DBackpropFilterAttrs): TensorInfo {
  const info = forwardInfo(x.shape as Shape4, attrs.filterShape, attrs);
  const [kh, kw, ci, co] = attrs.filterShape;
  const { top, bottom, left, right } = info.padInfo;
  if (kh === 1 && kw === 1 && info.strideHeight === 1 && info.strideWidth === 1 &&
    top === 0 && bottom === 0 && left === 0 && right === 0) {
    // A plain matmul x^T dy over all n*H*W pixels. wasm's BatchMatMul only uses
    // XNNPACK without transpose flags, so transpose the operand with fewer
    // channels ourselves (measured faster than transposing the other).
    const m = x.shape[0] * x.shape[1] * x.shape[2];
    const x2 = s.reshape(x, [1, m, ci]);
    const dy2 = s.reshape(dy, [1, m, co]);
    const g = ci <= co
      ? s.matMul(s.transpose(x2, [0, 2, 1]), dy2)
      : s.transpose(s.matMul(s.transpose(dy2, [0, 2, 1]), x2), [0, 2, 1]);
    return s.reshape(g, attrs.filterShape);
  }
  // A convolution of x^T [ci, H, W, n] (batch ci, channels n) by dy^T
  // [oh, ow, n, co] used as a filter dilated by the forward stride.
  const xT = s.transpose(x, [3, 1, 2, 0]);
  const dyT = s.transpose(dy, [1, 2, 0, 3]);
  const g = s.conv(xT, dyT, [info.strideHeight, info.strideWidth], [top, left], [kh, kw]);
  return s.transpose(g, [1, 2, 0, 3]);
}

/** dx[y] = sum over i, t with s*i + t - top = y of dy[i] * W[t] (per axis).
 * Split y + top = s*q + r: for each phase r, dx is a stride-1 convolution of
 * dy with the flipped sub-filter W[r + s*m] (m = 0..ceil(k/s)-1). All s*s
 * phases come from ONE convolution of dy whose output channels are
 * (rh, rw, ci), followed by a depth-to-space. Unlike convolving a zero-dilated
 * dy, this skips the zeros: 16 instead of 36 multiply-adds per dy pixel and
 * channel pair for a 3x3 stride-2 conv, and no dilated copy of dy. For stride 1
 * it is the usual convolution with the flipped, in/out-swapped filter. */
function backpropInput(s: Scope, dy: TensorInfo, filter: TensorInfo,
  attrs: Conv2DBackpropInputAttrs): TensorInfo {
  const [kh, kw, ci, co] = filter.shape;
  const info = forwardInfo(attrs.inputShape, filter.shape as Shape4, attrs);
  const n = dy.shape[0];
  const [, H, W] = attrs.inputShape;
  const sh = info.strideHeight;
  const sw = info.strideWidth;
  const th = Math.ceil(kh / sh); // taps per sub-filter
  const tw = Math.ceil(kw / sw);
  // f[u, v, co, (rh, rw, ci)] = W[rh + sh*(th-1-u), rw + sw*(tw-1-v), ci, co].
  // The flip is a Slice per tap + Concat: wasm's Reverse is ~20x slower than a
  // copy, and taking the (u, v) blocks in flipped order also moves the taps in
  // front of the phases for free.
  const padded = th * sh === kh && tw * sw === kw ? filter
    : s.pad(filter, [[0, th * sh - kh], [0, tw * sw - kw], [0, 0], [0, 0]]);
  const blocks = s.reshape(padded, [th, sh, tw, sw * ci * co]);
  const taps: TensorInfo[] = [];
  for (let u = th - 1; u >= 0; u--) {
    for (let v = tw - 1; v >= 0; v--) taps.push(s.slice(blocks, [u, 0, v, 0], [1, sh, 1, sw * ci * co]));
  }
  const f = s.reshape(s.transpose(s.reshape(s.concat(taps, 0), [th * tw, sh * sw * ci, co]), [0, 2, 1]),
    [th, tw, co, sh * sw * ci]);
  // Whole low-res rows of the forward padding shift the conv window; the rest
  // (top % s high-res rows) is cropped after the depth-to-space.
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const qh = Math.ceil((top % sh + H) / sh);
  const qw = Math.ceil((left % sw + W) / sw);
  const y = s.conv(dy, f, [1, 1], [th - 1 - Math.floor(top / sh), tw - 1 - Math.floor(left / sw)], [qh, qw]);
  const dx = sh === 1 ? y : s.transpose(s.reshape(y, [n * qh, qw, sh, sw * ci]), [0, 2, 1, 3]);
  return s.crop(s.reshape(dx, [n, qh * sh, qw * sw, ci]), top % sh, left % sw, H, W);
}

function makeKernel(
  kernels: Record<Needed, KernelFunc>,
  body: (s: Scope, inputs: NamedTensorInfoMap, attrs: NamedAttrMap) => TensorInfo,
): KernelFunc {
  const fn: KernelFunc = ({ inputs, backend, attrs }) => {
    const s = new Scope(kernels, backend as KernelBackend);
    let result: TensorInfo | undefined;
    try {
      result = body(s, inputs, attrs ?? {});
      return result;
    } finally {
      s.release(result);
    }
  };
  return Object.assign(fn, { [OURS]: true });
}

/** Registers our Conv2DBackpropFilter / Conv2DBackpropInput for `backendName`,
 * replacing any built-in ones. Idempotent. The backend package must have been
 * imported first (its forward kernels are looked up here). */
export function registerConvGradKernels(backendName: BackendName): void {
  const kernels = {} as Record<Needed, KernelFunc>;
  for (const name of NEEDED) {
    const k = tf.getKernel(name, backendName);
    if (!k) {
      throw new Error(`conv-grad-kernels: backend '${backendName}' has no ${name} kernel; ` +
        `import @tensorflow/tfjs-backend-${backendName} first`);
    }
    kernels[name] = k.kernelFunc;
  }
  const defs: [string, KernelFunc][] = [
    ['Conv2DBackpropFilter', makeKernel(kernels, (s, { x, dy }, attrs) =>
      backpropFilter(s, x!, dy!, attrs as unknown as Conv2DBackpropFilterAttrs))],
    ['Conv2DBackpropInput', makeKernel(kernels, (s, { dy, filter }, attrs) =>
      backpropInput(s, dy!, filter!, attrs as unknown as Conv2DBackpropInputAttrs))],
  ];
  for (const [kernelName, kernelFunc] of defs) {
    const existing = tf.getKernel(kernelName, backendName);
    if (existing && OURS in existing.kernelFunc) continue;
    if (existing) tf.unregisterKernel(kernelName, backendName);
    tf.registerKernel({ kernelName, backendName, kernelFunc });
  }
}
