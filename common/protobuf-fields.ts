/** One field of a protobuf message: varints carry `value`; length-delimited fields span [start, end). */
export interface ProtoField {
  field: number;
  wire: 0 | 1 | 2 | 5;
  value: number;
  start: number;
  end: number;
}

/**
 * The fields of a protobuf message in bytes[from, to), without a schema: enough to read ONNX
 * models (metadata for the engine, initialisers for fine-tuning) with no protobuf dependency.
 */
export function protoFields(bytes: Uint8Array, from = 0, to = bytes.length): ProtoField[] {
  const out: ProtoField[] = [];
  let at = from;
  const varint = (): number => {
    let value = 0;
    // Multiplying instead of shifting keeps values above 2^31 (large graphs) exact.
    for (let scale = 1; ; scale *= 128) {
      if (at >= to) throw new Error('truncated protobuf');
      const b = bytes[at++];
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
    }
  };
  while (at < to) {
    const tag = varint();
    const wire = tag % 8;
    const field = Math.floor(tag / 8);
    if (wire === 0) out.push({ field, wire, value: varint(), start: at, end: at });
    else if (wire === 1 || wire === 5) {
      const start = at;
      at += wire === 1 ? 8 : 4;
      out.push({ field, wire, value: 0, start, end: at });
    } else if (wire === 2) {
      const length = varint();
      if (at + length > to) throw new Error('truncated protobuf');
      out.push({ field, wire, value: length, start: at, end: at + length });
      at += length;
    } else throw new Error(`unexpected protobuf wire type ${wire}`);
  }
  return out;
}

/** The values of a packed repeated varint field. */
export function packedVarints(bytes: Uint8Array, start: number, end: number): number[] {
  const out: number[] = [];
  let value = 0;
  let scale = 1;
  for (let at = start; at < end; at++) {
    value += (bytes[at] & 0x7f) * scale;
    if (bytes[at] < 0x80) {
      out.push(value);
      value = 0;
      scale = 1;
    } else scale *= 128;
  }
  return out;
}
