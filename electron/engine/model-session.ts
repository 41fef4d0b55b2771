import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import type { ModelDescriptor } from '../../common/model-descriptor.ts';
import { EngineError } from './errors.ts';
import { probeWebGpuAdapter } from './gpu-adapter.ts';
import { descriptorFromMetadata, readOnnxMetadata } from './onnx-metadata.ts';

export type ProviderChoice = 'auto' | 'cpu' | 'gpu';

export interface LoadModelOptions {
  /** ONNX Runtime intra-op threads; defaults to every core. */
  threads?: number;
  /**
   * 'auto' tries the platform's accelerators, then the CPU, but never a software WebGPU adapter
   * (lavapipe: slower than the CPU provider); 'gpu' only the accelerators, a software adapter
   * included, and fails without one; 'cpu' skips them (tests, benchmarks).
   */
  providers?: ProviderChoice;
  /** Where the one-line "accelerator unavailable" notice goes; defaults to stderr. */
  onNotice?: (line: string) => void;
  /** For a model without Enhance metadata: what probing found (see probe-model.ts); its first input and output are used. */
  descriptor?: ModelDescriptor;
}

/** An NCHW float32 tensor as plain data. */
export interface NchwTensor {
  data: Float32Array;
  /** [N, C, H, W] */
  dims: [number, number, number, number];
}

export interface EngineModel {
  readonly descriptor: ModelDescriptor;
  /** The execution provider the session runs on: 'cpu', 'cuda', 'dml', 'coreml' or 'webgpu'. */
  readonly provider: string;
  run(input: NchwTensor): Promise<NchwTensor>;
  release(): Promise<void>;
}

/**
 * Accelerators worth trying here, best first; only ones this onnxruntime-node build knows. WebGPU
 * (Dawn: Vulkan, D3D12, Metal) is the cross-vendor one, after the platform's own.
 */
function acceleratorCandidates(): string[] {
  const known = new Set(ort.listSupportedBackends().map((b) => b.name));
  const wanted =
    process.platform === 'win32' ? ['cuda', 'dml', 'webgpu']
    : process.platform === 'darwin' ? ['coreml', 'webgpu']
    // Without the NVIDIA driver the CUDA provider cannot load; skip the attempt and its log noise.
    : existsSync('/proc/driver/nvidia/version') ? ['cuda', 'webgpu'] : ['webgpu'];
  return wanted.filter((name) => known.has(name));
}

/**
 * Why 'auto' does not try WebGPU, if it does not: no adapter (silently, like CUDA without its
 * driver), or a software one (said). Forced, ORT tries whatever adapter it finds.
 */
async function webGpuSkip(): Promise<{ why: string; say: boolean } | undefined> {
  const adapter = await probeWebGpuAdapter();
  if (!adapter.found) return { why: adapter.why, say: false };
  if (adapter.software) return { why: `software adapter (${adapter.software}), slower than the CPU; --device gpu forces it`, say: true };
  return undefined;
}

/** ORT's first message line, without the C++ source location it starts with. */
function ortReason(e: unknown): string {
  return (e as Error).message.split('\n')[0].replace(/^\S+\.(?:cc|h|cpp):\d+ .*? was false\. /, '');
}

export async function loadModel(source: string | Uint8Array, o: LoadModelOptions = {}): Promise<EngineModel> {
  const label = typeof source === 'string' ? source : '(model bytes)';
  let bytes: Uint8Array;
  try {
    bytes = typeof source === 'string' ? await readFile(source) : source;
  } catch (e) {
    throw new EngineError('model-invalid', `cannot read the model: ${(e as Error).message}`, label);
  }
  let descriptor: ModelDescriptor;
  try {
    descriptor = o.descriptor ?? descriptorFromMetadata(readOnnxMetadata(bytes));
  } catch (e) {
    throw new EngineError('model-invalid', `not an Enhance model: ${(e as Error).message}`, label);
  }

  const base: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    intraOpNumThreads: o.threads ?? availableParallelism(),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    // Memory patterns are planned per input shape and kept; with edge tiles of several shapes they
    // cost ~100 MB (×2) to ~350 MB (×4) of peak RSS at 512 px tiles, for no measurable speed.
    enableMemPattern: false,
  };
  const notice = o.onNotice ?? ((line: string) => process.stderr.write(`${line}\n`));
  let session: ort.InferenceSession | undefined;
  let provider = 'cpu';
  const forced = o.providers === 'gpu';
  const failures: string[] = [];
  for (const name of o.providers === 'cpu' ? [] : acceleratorCandidates()) {
    const skip = name === 'webgpu' && !forced ? await webGpuSkip() : undefined;
    if (skip) {
      if (skip.say) notice(`enhance: ${name} execution provider skipped: ${skip.why}`);
      continue;
    }
    try {
      // Fatal-only logging: a missing driver is expected here and gets our one-line notice instead.
      session = await ort.InferenceSession.create(bytes, { ...base, executionProviders: [name, 'cpu'], logSeverityLevel: 4 });
      provider = name;
      break;
    } catch (e) {
      const why = ortReason(e);
      failures.push(`${name}: ${why}`);
      notice(`enhance: ${name} execution provider unavailable (${why}); falling back`);
    }
  }
  if (forced && !session) {
    throw new EngineError('not-available', `no GPU execution provider could start (${failures.join('; ') || 'this ONNX Runtime build has none for this platform'})`, label);
  }
  try {
    session ??= await ort.InferenceSession.create(bytes, { ...base, executionProviders: ['cpu'], logSeverityLevel: 3 });
  } catch (e) {
    throw new EngineError('model-invalid', `ONNX Runtime cannot load the model: ${(e as Error).message.split('\n')[0]}`, label);
  }
  const [inputName, outputName] = o.descriptor ? [session.inputNames[0], session.outputNames[0]] : ['input', 'output'];
  if (!session.inputNames.includes(inputName) || !session.outputNames.includes(outputName)) {
    await session.release();
    throw new EngineError('model-invalid', 'the model needs an input named "input" and an output named "output"', label);
  }
  const s = session;
  return {
    descriptor,
    provider,
    async run(input) {
      const feeds = { [inputName]: new ort.Tensor('float32', input.data, input.dims) };
      const result = await s.run(feeds);
      const out = result[outputName];
      const dims = out.dims;
      if (out.type !== 'float32' || dims.length !== 4) throw new EngineError('model-invalid', `model output is ${out.type} [${dims}], expected float32 NCHW`, label);
      return { data: out.data as Float32Array, dims: [dims[0], dims[1], dims[2], dims[3]] };
    },
    release: () => s.release(),
  };
}
