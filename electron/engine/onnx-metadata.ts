import type { ModelDescriptor, Task } from '../../common/model-descriptor.ts';
import { protoFields } from '../../common/protobuf-fields.ts';

/**
 * Reads ModelProto.metadata_props (field 14: StringStringEntryProto {key = 1, value = 2}).
 * ONNX Runtime's JS API does not expose custom metadata, and the descriptor lives there.
 * Only top-level fields are walked; the graph (field 7) is skipped by its length.
 */
export function readOnnxMetadata(bytes: Uint8Array): Record<string, string> {
  const text = new TextDecoder();
  const meta: Record<string, string> = {};
  for (const entry of protoFields(bytes)) {
    if (entry.field !== 14 || entry.wire !== 2) continue;
    let key = '';
    let value = '';
    for (const kv of protoFields(bytes, entry.start, entry.end)) {
      if (kv.field === 1) key = text.decode(bytes.subarray(kv.start, kv.end));
      if (kv.field === 2) value = text.decode(bytes.subarray(kv.start, kv.end));
    }
    meta[key] = value;
  }
  return meta;
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
