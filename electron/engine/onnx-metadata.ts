import type { ModelDescriptor, Task } from '../../common/model-descriptor.ts';

/**
 * Reads ModelProto.metadata_props (field 14: StringStringEntryProto {key = 1, value = 2}).
 * ONNX Runtime's JS API does not expose custom metadata, and the descriptor lives there.
 * Only top-level fields are walked; the graph (field 7) is skipped by its length.
 */
export function readOnnxMetadata(bytes: Uint8Array): Record<string, string> {
  const text = new TextDecoder();
  const meta: Record<string, string> = {};
  for (const entry of lengthDelimitedFields(bytes, 0, bytes.length)) {
    if (entry.field !== 14) continue;
    let key = '';
    let value = '';
    for (const kv of lengthDelimitedFields(bytes, entry.start, entry.end)) {
      if (kv.field === 1) key = text.decode(bytes.subarray(kv.start, kv.end));
      if (kv.field === 2) value = text.decode(bytes.subarray(kv.start, kv.end));
    }
    meta[key] = value;
  }
  return meta;
}

interface FieldSpan {
  field: number;
  start: number;
  end: number;
}

function lengthDelimitedFields(bytes: Uint8Array, from: number, to: number): FieldSpan[] {
  const out: FieldSpan[] = [];
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
    if (wire === 0) varint();
    else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else if (wire === 2) {
      const length = varint();
      if (at + length > to) throw new Error('truncated protobuf');
      out.push({ field: Math.floor(tag / 8), start: at, end: at + length });
      at += length;
    } else throw new Error(`unexpected protobuf wire type ${wire}`);
  }
  return out;
}

const tasks: readonly Task[] = ['upscale', 'decrappify', 'colorize'];

/** Builds and checks the descriptor; throws a plain Error naming the first bad key. */
export function descriptorFromMetadata(meta: Record<string, string>): ModelDescriptor {
  const int = (key: string, allowed?: readonly number[]): number => {
    const v = Number(meta[key]);
    if (meta[key] === undefined || !Number.isInteger(v) || v < 0 || (allowed && !allowed.includes(v))) {
      throw new Error(`metadata ${key}=${meta[key] ?? '(missing)'} is not ${allowed ? `one of ${allowed.join(', ')}` : 'a non-negative integer'}`);
    }
    return v;
  };
  const task = meta.task as Task;
  if (!tasks.includes(task)) throw new Error(`metadata task=${meta.task ?? '(missing)'} is not one of ${tasks.join(', ')}`);
  const resolution = meta.resolution;
  if (resolution !== 'low-res' && resolution !== 'pre-upsampled') throw new Error(`metadata resolution=${resolution ?? '(missing)'} is not low-res or pre-upsampled`);
  const d: ModelDescriptor = {
    task,
    scale: int('scale', [1, 2, 4]) as 1 | 2 | 4,
    inChannels: int('inChannels', [1, 3]) as 1 | 3,
    outChannels: int('outChannels', [2, 3]) as 2 | 3,
    sizeMultiplePx: int('sizeMultiplePx'),
    receptiveMarginPx: int('receptiveMarginPx'),
    inputRange: [0, 1],
    resolution,
    architecture: meta.architecture ?? 'unknown',
  };
  if (d.sizeMultiplePx < 1) throw new Error('metadata sizeMultiplePx must be at least 1');
  const colorize = task === 'colorize';
  if (colorize !== (d.inChannels === 1 && d.outChannels === 2)) throw new Error(`a ${task} model with ${d.inChannels} -> ${d.outChannels} channels is not supported`);
  if ((task === 'upscale') !== (d.scale > 1)) throw new Error(`${task} with scale ${d.scale} is not supported`);
  return d;
}
