// The subset of onnx.proto3 the exporter writes, encoded by hand so exporting needs no protobuf
// dependency. Field numbers are those of onnx/onnx.proto3 (checked against the upstream file).

export const irVersion = 8;
export const opsetVersion = 17;

/** TensorProto.DataType FLOAT: every tensor the exporter writes is float32. */
const dataTypeFloat = 1;

/** A float32 initializer. */
export interface Tensor {
  name: string;
  dims: number[];
  /** Little-endian, fixed-width elements, row-major. */
  rawData: Uint8Array;
}

export type Attribute =
  | { name: string; float: number }
  | { name: string; int: number }
  | { name: string; string: string }
  | { name: string; ints: number[] };

export interface Node {
  opType: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attributes?: Attribute[];
}

/** A float32 tensor value; a string dimension is symbolic (dim_param), a number fixed (dim_value). */
export interface ValueInfo {
  name: string;
  shape: (number | string)[];
}

export interface Graph {
  name: string;
  nodes: Node[];
  initializers: Tensor[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
}

export interface Model {
  producerName: string;
  graph: Graph;
  metadata: Record<string, string>;
}

const wireVarint = 0;
const wireFixed32 = 5;
const wireBytes = 2;

const utf8 = new TextEncoder();

/**
 * Appends fields to a list of chunks; a nested message is written into its own writer first so
 * its length is known, and its chunks are moved, not copied (weights are most of the bytes).
 */
class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];
  length = 0;

  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  private varint(value: number): void {
    if (!Number.isSafeInteger(value)) throw new Error(`not an integer: ${value}`);
    const out: number[] = [];
    // Negative int64 values are ten bytes of two's complement, so go through BigInt.
    let v = BigInt.asUintN(64, BigInt(value));
    do {
      const low = Number(v & 0x7fn);
      v >>= 7n;
      out.push(v > 0n ? low | 0x80 : low);
    } while (v > 0n);
    this.push(Uint8Array.from(out));
  }

  private tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  int(field: number, value: number): this {
    this.tag(field, wireVarint);
    this.varint(value);
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, wireFixed32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.push(b);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, wireBytes);
    this.varint(value.length);
    this.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, utf8.encode(value));
  }

  /** Repeated int64 in proto3's default packed form. */
  packedInts(field: number, values: number[]): this {
    const inner = new ProtoWriter();
    for (const v of values) inner.varint(v);
    return this.nested(field, inner);
  }

  message(field: number, build: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    build(inner);
    return this.nested(field, inner);
  }

  private nested(field: number, inner: ProtoWriter): this {
    this.tag(field, wireBytes);
    this.varint(inner.length);
    for (const c of inner.chunks) this.push(c);
    return this;
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

// AttributeProto.AttributeType
const attrFloat = 1;
const attrInt = 2;
const attrString = 3;
const attrInts = 7;

function writeAttribute(w: ProtoWriter, a: Attribute): void {
  w.string(1, a.name);
  if ('float' in a) w.float(2, a.float).int(20, attrFloat);
  else if ('int' in a) w.int(3, a.int).int(20, attrInt);
  else if ('string' in a) w.string(4, a.string).int(20, attrString);
  else w.packedInts(8, a.ints).int(20, attrInts);
}

function writeNode(w: ProtoWriter, n: Node): void {
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name).string(4, n.opType);
  for (const a of n.attributes ?? []) w.message(5, (m) => writeAttribute(m, a));
}

function writeTensor(w: ProtoWriter, t: Tensor): void {
  if (t.dims.length > 0) w.packedInts(1, t.dims);
  w.int(2, dataTypeFloat).string(8, t.name).bytes(9, t.rawData);
}

function writeValueInfo(w: ProtoWriter, v: ValueInfo): void {
  w.string(1, v.name);
  // ValueInfoProto.type -> TypeProto.tensor_type -> {elem_type, shape -> TensorShapeProto.dim[]}
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, dataTypeFloat);
      tensor.message(2, (shape) => {
        for (const d of v.shape) shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
      });
    }),
  );
}

function writeGraph(w: ProtoWriter, g: Graph): void {
  for (const n of g.nodes) w.message(1, (m) => writeNode(m, n));
  w.string(2, g.name);
  for (const t of g.initializers) w.message(5, (m) => writeTensor(m, t));
  for (const v of g.inputs) w.message(11, (m) => writeValueInfo(m, v));
  for (const v of g.outputs) w.message(12, (m) => writeValueInfo(m, v));
}

/** Serialises a ModelProto importing the default ONNX domain at `opsetVersion`. */
export function encodeModel(model: Model): Uint8Array {
  const w = new ProtoWriter();
  w.int(1, irVersion);
  w.string(2, model.producerName);
  w.message(7, (g) => writeGraph(g, model.graph));
  w.message(8, (op) => op.string(1, '').int(2, opsetVersion));
  for (const [key, value] of Object.entries(model.metadata)) w.message(14, (e) => e.string(1, key).string(2, value));
  return w.finish();
}

export function floatTensor(name: string, dims: number[], values: Float32Array): Tensor {
  const rawData = new Uint8Array(values.length * 4);
  const view = new DataView(rawData.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return { name, dims, rawData };
}
