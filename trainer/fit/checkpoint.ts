import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../atomic-write.ts';
import { buildModel, type ModelSpec } from '../models/build-model.ts';
import { ParamLayout } from './param-layout.ts';

export interface CheckpointState {
  spec: ModelSpec;
  names: string[];
  shapes: number[][];
  /** Epochs finished; a resumed run starts with the next one. */
  epochsDone: number;
  seed: number;
  history: EpochRecord[];
  /** Anything else the caller wants back on resume (loss, data, stages). */
  config: Record<string, unknown>;
}

export interface EpochRecord {
  epoch: number;
  stage: number;
  trainLoss: number;
  valLoss?: number;
  /** Validation image metrics, e.g. { psnrY, ssimY } (see image-metrics-callback.ts). */
  metrics?: Record<string, number>;
  seconds: number;
  imgPerSec: number;
}

export interface Checkpoint {
  state: CheckpointState;
  weights: Float32Array;
  m: Float32Array;
  v: Float32Array;
  steps: Int32Array;
}

const MAGIC = 'ENHCKPT1';

/**
 * One file: magic, header length, JSON header, then weights, Adam moments and step counts.
 * Written to a temp file, fsynced and renamed, so a kill at any moment leaves the old or the new one.
 */
export function writeCheckpoint(path: string, c: Checkpoint): void {
  const header = Buffer.from(JSON.stringify(c.state));
  const pre = Buffer.alloc(12);
  pre.write(MAGIC, 0, 'latin1');
  pre.writeUInt32LE(header.length, 8);
  writeFileAtomic(path, [pre, header, c.weights, c.m, c.v, c.steps]);
}

export function readCheckpoint(path: string): Checkpoint {
  const buf = readFileSync(path);
  if (buf.length < 12 || buf.toString('latin1', 0, 8) !== MAGIC) throw new Error(`${path}: not an Enhance checkpoint`);
  const headerLen = buf.readUInt32LE(8);
  const state = JSON.parse(buf.toString('utf8', 12, 12 + headerLen)) as CheckpointState;
  const total = state.shapes.reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0);
  const expected = 12 + headerLen + total * 12 + state.names.length * 4;
  if (buf.length !== expected) throw new Error(`${path}: truncated or damaged checkpoint (${buf.length} bytes, expected ${expected})`);
  // Copy out of the file buffer: its offset need not be 4-byte aligned.
  const f32 = (at: number, n: number) => new Float32Array(buf.buffer.slice(buf.byteOffset + at, buf.byteOffset + at + n * 4));
  let at = 12 + headerLen;
  const weights = f32(at, total);
  const m = f32((at += total * 4), total);
  const v = f32((at += total * 4), total);
  at += total * 4;
  const steps = new Int32Array(buf.buffer.slice(buf.byteOffset + at, buf.byteOffset + at + state.names.length * 4));
  return { state, weights, m, v, steps };
}

/** A checkpoint of a model's seeded initial weights and a fresh optimizer: a starting point, or a stand-in in tests. */
export function freshCheckpoint(spec: ModelSpec, seed: number): Checkpoint {
  const layout = new ParamLayout(buildModel(spec).params);
  return {
    state: { spec, names: layout.names, shapes: layout.shapes, epochsDone: 0, seed, history: [], config: {} },
    weights: layout.initialWeights(seed),
    m: new Float32Array(layout.total),
    v: new Float32Array(layout.total),
    steps: new Int32Array(layout.names.length),
  };
}
