import { luma, yccToRgb } from '../../common/color.ts';
import { dihedral, inverseSymmetry } from '../../common/dihedral.ts';
import type { ModelDescriptor } from '../../common/model-descriptor.ts';
import { abortedError, EngineError } from './errors.ts';
import type { EngineModel, NchwTensor } from './model-session.ts';

/**
 * Interleaved pixels, 8-bit or (for 16-bit photos) 16-bit; channels 3 (RGB) or 4 (RGBA). The
 * network only sees the first three.
 */
export interface RawImage {
  data: Uint8Array | Uint16Array;
  widthPx: number;
  heightPx: number;
  channels: number;
}

/** The largest sample value: 255 or 65535. */
export function sampleMax(image: RawImage): number {
  return image.data instanceof Uint16Array ? 65535 : 255;
}

/** A span along one axis: the window the network reads and the core whose output is kept. */
interface Span {
  windowStart: number;
  windowEnd: number;
  coreStart: number;
  coreEnd: number;
}

export interface Tile {
  x: Span;
  y: Span;
  /** Window size padded up to the model's size multiple. */
  paddedWidthPx: number;
  paddedHeightPx: number;
}

export interface TilePlanOptions {
  /** Largest window side fed to the network, in input pixels; bounds memory. */
  tileSizePx: number;
  /** Pixels of context read around each core; at least the model's receptive margin. */
  contextPx: number;
  multiplePx: number;
}

const roundUp = (v: number, m: number): number => Math.ceil(v / m) * m;

/**
 * Crop-centre tiling: each window carries `contextPx` of real neighbours around the core it
 * contributes, and windows start on multiples of the size multiple, so the down/up-sampling grid
 * lines up with the whole-image run and the kept cores equal it (no blending, no seams).
 */
export function planTiles(widthPx: number, heightPx: number, o: TilePlanOptions): Tile[] {
  const xs = axisSpans(widthPx, o);
  const ys = axisSpans(heightPx, o);
  const tiles: Tile[] = [];
  for (const y of ys) {
    for (const x of xs) {
      tiles.push({
        x,
        y,
        paddedWidthPx: roundUp(x.windowEnd - x.windowStart, o.multiplePx),
        paddedHeightPx: roundUp(y.windowEnd - y.windowStart, o.multiplePx),
      });
    }
  }
  return tiles;
}

function axisSpans(lengthPx: number, o: TilePlanOptions): Span[] {
  const spans: Span[] = [];
  let coreStart = 0;
  for (;;) {
    const windowStart = Math.max(0, coreStart - o.contextPx);
    if (lengthPx - windowStart <= o.tileSizePx) {
      spans.push({ windowStart, windowEnd: lengthPx, coreStart, coreEnd: lengthPx });
      return spans;
    }
    const windowEnd = windowStart + o.tileSizePx;
    const coreEnd = windowEnd - o.contextPx;
    spans.push({ windowStart, windowEnd, coreStart, coreEnd });
    coreStart = coreEnd;
  }
}

/** Context and window size for a model: context rounds the receptive margin up to the size multiple. */
export function tilePlanOptions(d: ModelDescriptor, tileSizePx: number): TilePlanOptions {
  const multiplePx = d.sizeMultiplePx;
  const contextPx = roundUp(d.receptiveMarginPx, multiplePx);
  const windowPx = Math.floor(tileSizePx / multiplePx) * multiplePx;
  const minimumPx = 2 * contextPx + multiplePx;
  if (windowPx < minimumPx) {
    throw new EngineError('usage', `tile size ${tileSizePx} px is too small for this model: it needs at least ${minimumPx} px (2 × ${contextPx} px of context + ${multiplePx})`);
  }
  return { tileSizePx: windowPx, contextPx, multiplePx };
}

/** Mirror padding without repeating the edge pixel, clamped for images narrower than the pad. */
function reflect(i: number, n: number): number {
  return i < n ? i : Math.max(0, 2 * n - 2 - i);
}

/** BT.601 full-range luma in [0, 1] from RGB samples whose largest value is `max`. */
export function lumaOf(r: number, g: number, b: number, max = 255): number {
  return luma(r, g, b) / max;
}

/** The window as NCHW float in [0, 1]: RGB, or luma when the model takes one channel. */
export function readTile(image: RawImage, tile: Tile, inChannels: 1 | 3): NchwTensor {
  const w = tile.paddedWidthPx;
  const h = tile.paddedHeightPx;
  const plane = w * h;
  const data = new Float32Array(inChannels * plane);
  const { data: px, widthPx, heightPx, channels } = image;
  const max = sampleMax(image);
  // Source offset of each tile column, padding resolved once per tile instead of per pixel.
  const columns = new Int32Array(w);
  for (let tx = 0; tx < w; tx++) columns[tx] = reflect(tile.x.windowStart + tx, widthPx) * channels;
  for (let ty = 0; ty < h; ty++) {
    const row = reflect(tile.y.windowStart + ty, heightPx) * widthPx * channels;
    const d0 = ty * w;
    if (inChannels === 1) {
      for (let tx = 0; tx < w; tx++) {
        const s = row + columns[tx];
        data[d0 + tx] = lumaOf(px[s], px[s + 1], px[s + 2], max);
      }
    } else {
      for (let tx = 0; tx < w; tx++) {
        const s = row + columns[tx];
        data[d0 + tx] = px[s] / max;
        data[plane + d0 + tx] = px[s + 1] / max;
        data[2 * plane + d0 + tx] = px[s + 2] / max;
      }
    }
  }
  return { data, dims: [1, inChannels, h, w] };
}

/** Where a tile's kept output lies: in the network output tensor and in the output image. */
export interface CoreRegion {
  /** Offset of the core inside the output tensor, in output pixels. */
  fromXPx: number;
  fromYPx: number;
  /** Position and size of the core in the output image. */
  toXPx: number;
  toYPx: number;
  widthPx: number;
  heightPx: number;
}

export interface TiledRunOptions {
  tileSizePx: number;
  /** Average the network over each tile's 8 rotations and mirrors (8× the time, a little more fidelity). */
  selfEnsemble?: boolean;
  signal?: AbortSignal;
  onTile?: (done: number, total: number) => void;
}

/**
 * Runs the network tile by tile over `image` and hands each tile's output and kept core to
 * `sink`. `networkScale` is output/input size of the network itself (1 for pre-upsampled models).
 */
export async function runTiled(
  model: EngineModel,
  image: RawImage,
  networkScale: number,
  o: TiledRunOptions,
  sink: (output: NchwTensor, core: CoreRegion) => void,
): Promise<void> {
  const d = model.descriptor;
  const tiles = planTiles(image.widthPx, image.heightPx, tilePlanOptions(d, o.tileSizePx));
  for (let i = 0; i < tiles.length; i++) {
    if (o.signal?.aborted) throw abortedError();
    const t = tiles[i];
    // The input tile is not kept past its run: at 12 MP it is ~50 MB of peak memory.
    const output = o.selfEnsemble ? await runSelfEnsemble(model, readTile(image, t, d.inChannels), o.signal) : await model.run(readTile(image, t, d.inChannels));
    const [, c, h, w] = output.dims;
    if (c !== d.outChannels || h !== t.paddedHeightPx * networkScale || w !== t.paddedWidthPx * networkScale) {
      throw new EngineError('model-invalid', `model returned [${output.dims}] for a [${t.paddedHeightPx}×${t.paddedWidthPx}] tile; its descriptor promised ${d.outChannels} channels at ×${networkScale}`);
    }
    sink(output, {
      fromXPx: (t.x.coreStart - t.x.windowStart) * networkScale,
      fromYPx: (t.y.coreStart - t.y.windowStart) * networkScale,
      toXPx: t.x.coreStart * networkScale,
      toYPx: t.y.coreStart * networkScale,
      widthPx: (t.x.coreEnd - t.x.coreStart) * networkScale,
      heightPx: (t.y.coreEnd - t.y.coreStart) * networkScale,
    });
    o.onTile?.(i + 1, tiles.length);
  }
}

/** One of the 8 symmetries of the square applied to every plane of an NCHW tensor. */
function turnNchw(t: NchwTensor, k: number): NchwTensor {
  const [n, c, h, w] = t.dims;
  const plane = h * w;
  const data = new Float32Array(t.data.length);
  for (let p = 0; p < n * c; p++) data.set(dihedral(t.data.subarray(p * plane, (p + 1) * plane), h, w, 1, k).data, p * plane);
  return { data, dims: k & 1 ? [n, c, w, h] : [n, c, h, w] };
}

/**
 * The geometric self-ensemble (EDSR's "+" models): the network's outputs on the tile's 8 symmetries,
 * each turned back and averaged. A network is not exactly equivariant, so its errors partly cancel.
 */
async function runSelfEnsemble(model: EngineModel, input: NchwTensor, signal: AbortSignal | undefined): Promise<NchwTensor> {
  let sum: NchwTensor | undefined;
  for (let k = 0; k < 8; k++) {
    // A tile takes 8 runs here: a cancel need not wait for all of them.
    if (signal?.aborted) throw abortedError();
    const back = turnNchw(await model.run(turnNchw(input, k)), inverseSymmetry(k));
    if (!sum) sum = back;
    else if (back.dims.join() !== sum.dims.join()) {
      throw new EngineError('model-invalid', `model returned [${back.dims}] for a turned tile but [${sum.dims}] for the upright one`);
    } else for (let i = 0; i < sum.data.length; i++) sum.data[i] += back.data[i];
  }
  for (let i = 0; i < sum!.data.length; i++) sum!.data[i] /= 8;
  return sum!;
}

/**
 * Runs the model once on a small blank tile and checks what comes back against its descriptor, so
 * a model whose graph disagrees with its metadata (says ×4, computes ×2) stops a batch before any
 * photo rather than failing each one.
 */
export async function checkModelOutput(model: EngineModel): Promise<void> {
  const d = model.descriptor;
  const { contextPx, multiplePx } = tilePlanOptions(d, Number.MAX_SAFE_INTEGER);
  const side = 2 * contextPx + multiplePx;
  const networkScale = d.resolution === 'pre-upsampled' ? 1 : d.scale;
  let output: NchwTensor;
  try {
    output = await model.run({ data: new Float32Array(d.inChannels * side * side).fill(0.5), dims: [1, d.inChannels, side, side] });
  } catch (e) {
    if (e instanceof EngineError) throw e;
    throw new EngineError('model-invalid', `the model fails on a ${side}×${side} test tile: ${(e as Error).message.split('\n')[0]}`);
  }
  const [, c, h, w] = output.dims;
  if (c !== d.outChannels || h !== side * networkScale || w !== side * networkScale) {
    throw new EngineError('model-invalid', `the model's graph disagrees with its metadata: it returned [${output.dims}] for a ${side}×${side} tile, where its metadata promises ${d.outChannels} channels at ×${networkScale}`);
  }
}

/**
 * Where a sink stores a 0–1 value: 8-bit through a clamped view (storing v·255 rounds and clamps in
 * one native step), 16-bit rounded and clamped by hand (no clamped 16-bit array exists).
 */
function sampleWriter(image: RawImage): (at: number, v: number) => void {
  const data = image.data;
  if (data instanceof Uint16Array) {
    return (at, v) => {
      const x = v * 65535;
      data[at] = x <= 0 ? 0 : x >= 65535 ? 65535 : Math.round(x);
    };
  }
  const bytes = new Uint8ClampedArray(data.buffer, data.byteOffset, data.byteLength);
  return (at, v) => {
    bytes[at] = v * 255;
  };
}

/** Sink for RGB models: writes the core into `dest` (3 or 4 channels; alpha is left alone). */
export function rgbSink(dest: RawImage): (output: NchwTensor, core: CoreRegion) => void {
  const put = sampleWriter(dest);
  return (output, core) => {
    const [, , h, w] = output.dims;
    const plane = h * w;
    const src = output.data;
    for (let y = 0; y < core.heightPx; y++) {
      let s = (core.fromYPx + y) * w + core.fromXPx;
      let o = ((core.toYPx + y) * dest.widthPx + core.toXPx) * dest.channels;
      for (let x = 0; x < core.widthPx; x++, s++, o += dest.channels) {
        put(o, src[s]);
        put(o + 1, src[plane + s]);
        put(o + 2, src[2 * plane + s]);
      }
    }
  };
}

/**
 * Sink for colorize models: the network's chroma (Cb, Cr centred on 0) joined with the luma of
 * the original pixels (BT.601 full range), so detail comes from the photo, not the network.
 * `dest` must not be `source`: later tiles read earlier cores as context.
 */
export function chromaSink(source: RawImage, dest: RawImage): (output: NchwTensor, core: CoreRegion) => void {
  const put = sampleWriter(dest);
  const max = sampleMax(source);
  return (output, core) => {
    const [, , h, w] = output.dims;
    const plane = h * w;
    const src = output.data;
    for (let y = 0; y < core.heightPx; y++) {
      let s = (core.fromYPx + y) * w + core.fromXPx;
      let i = ((core.toYPx + y) * source.widthPx + core.toXPx) * source.channels;
      let o = ((core.toYPx + y) * dest.widthPx + core.toXPx) * dest.channels;
      for (let x = 0; x < core.widthPx; x++, s++, i += source.channels, o += dest.channels) {
        const y = lumaOf(source.data[i], source.data[i + 1], source.data[i + 2], max);
        const [r, g, b] = yccToRgb(y, src[s], src[plane + s]);
        put(o, r);
        put(o + 1, g);
        put(o + 2, b);
      }
    }
  };
}
