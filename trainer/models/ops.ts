// The forward pass of every model is written once against this interface, so the same code
// runs as TF.js tensors (training, predict) and emits an ONNX graph (export): nothing to keep in sync.
export type Activation = 'relu' | 'leaky-relu' | 'none';

export interface Ops<T> {
  /** 'same' padding (extra pixel at the end for even sizes, like TF and ONNX SAME_UPPER). */
  conv2d(x: T, name: string, stride: 1 | 2): T;
  act(x: T, kind: Activation): T;
  add(a: T, b: T): T;
  /** Along channels. */
  concat(parts: T[]): T;
  /** 2×2 average pooling, stride 2; input sides are even. */
  avgPool2x(x: T): T;
  /** Nearest-neighbour ×2. */
  upsample2x(x: T): T;
  /** Channel c of block (by, bx) of the output comes from input channel (by·b + bx)·C + c (TF and ONNX DCR order). */
  depthToSpace(x: T, block: number): T;
  /** Global average pool then a dense layer: [n, h, w, c] -> [n, classes]. */
  poolDense(x: T, name: string): T;
  /** Adds a constant (input normalisation). */
  addScalar(x: T, value: number): T;
}

export interface ParamSpec {
  name: string;
  shape: number[];
  init: 'he-normal' | 'zeros' | { kind: 'he-normal-scaled'; gain: number } | { kind: 'bicubic-upsample'; scale: number };
  /** Fan-in for He initialisation. */
  fanIn: number;
}
