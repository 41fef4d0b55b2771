// A "foreign" ONNX model for the import test: a shipped Enhance model with its metadata_props
// (ModelProto field 14) removed, so the library has to probe it like any other export.

/** The ModelProto's bytes without the top-level fields numbered `drop`; everything else verbatim. */
export function withoutTopLevelFields(bytes: Uint8Array, drop: ReadonlySet<number>): Uint8Array {
  const kept: Uint8Array[] = [];
  let at = 0;
  const varint = (): number => {
    let value = 0;
    for (let scale = 1; ; scale *= 128) {
      if (at >= bytes.length) throw new Error('truncated protobuf');
      const b = bytes[at++];
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
    }
  };
  while (at < bytes.length) {
    const start = at;
    const tag = varint();
    const wire = tag % 8;
    if (wire === 0) varint();
    else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else if (wire === 2) {
      const length = varint();
      at += length;
    }
    else throw new Error(`unexpected protobuf wire type ${wire} at byte ${start}`);
    if (at > bytes.length) throw new Error('truncated protobuf');
    if (!drop.has(Math.floor(tag / 8))) kept.push(bytes.subarray(start, at));
  }
  return Buffer.concat(kept);
}

export const metadataPropsField = 14;

export function stripOnnxMetadata(bytes: Uint8Array): Uint8Array {
  return withoutTopLevelFields(bytes, new Set([metadataPropsField]));
}
