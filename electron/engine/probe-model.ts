import * as ort from 'onnxruntime-node';
import type { ModelDescriptor, Task } from '../../common/model-descriptor.ts';
import { EngineError } from './errors.ts';

export interface ProbeResult {
  descriptor: ModelDescriptor;
  /** What was found by running it and what had to be assumed, in words for the Models view. */
  assumptions: string[];
}

/** Context a foreign model is assumed to need per tile side; ESRGAN-family tilers use 16–32 px. */
const assumedMarginPx = 32;
const probeSidePx = 64;

/**
 * Finds what a model without Enhance metadata does by running small inputs through it: channels
 * (3, else 1), scale (output side / input side), and the smallest size multiple it accepts. Values
 * are assumed to be 0–1 RGB NCHW, as ESRGAN-family ONNX exports take.
 */
export async function probeOnnxModel(bytes: Uint8Array, label: string): Promise<ProbeResult> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], graphOptimizationLevel: 'all', logSeverityLevel: 4, intraOpNumThreads: 2 });
  } catch (e) {
    throw new EngineError('model-invalid', `ONNX Runtime cannot load the model: ${(e as Error).message.split('\n')[0]}`, label);
  }
  try {
    const input = session.inputNames[0];
    const output = session.outputNames[0];
    if (!input || !output) throw new EngineError('model-invalid', 'the model has no input or no output', label);
    const run = async (channels: number, side: number): Promise<readonly number[] | undefined> => {
      try {
        const x = new ort.Tensor('float32', new Float32Array(channels * side * side).fill(0.5), [1, channels, side, side]);
        const out = (await session.run({ [input]: x }))[output];
        return out.type === 'float32' && out.dims.length === 4 ? out.dims : undefined;
      } catch {
        return undefined;
      }
    };
    let inChannels: 1 | 3 = 3;
    let dims = await run(3, probeSidePx);
    if (!dims) {
      inChannels = 1;
      dims = await run(1, probeSidePx);
    }
    if (!dims) throw new EngineError('model-invalid', `the model does not take a [1, 3 or 1, ${probeSidePx}, ${probeSidePx}] float32 image`, label);
    const [, outC, outH, outW] = dims;
    const scale = outH / probeSidePx;
    if (outW !== outH || ![1, 2, 4].includes(scale)) throw new EngineError('model-invalid', `a ${probeSidePx} px input gives ${outW}×${outH}: only ×1, ×2 and ×4 models are supported`, label);
    const task: Task = scale > 1 ? 'upscale' : inChannels === 1 ? 'colorize' : 'decrappify';
    if (task === 'colorize' ? outC !== 2 : outC !== 3) throw new EngineError('model-invalid', `${inChannels} channels in, ${outC} out is not a layout Enhance runs`, label);
    let sizeMultiplePx = 1;
    for (const m of [1, 2, 4, 8, 16, 32]) {
      if (await run(inChannels, probeSidePx + m)) {
        sizeMultiplePx = m;
        break;
      }
      sizeMultiplePx = m * 2;
    }
    const descriptor: ModelDescriptor = {
      task, scale: scale as 1 | 2 | 4, inChannels, outChannels: outC as 2 | 3, sizeMultiplePx, receptiveMarginPx: assumedMarginPx,
      inputRange: [0, 1], resolution: 'low-res', architecture: 'foreign',
    };
    return {
      descriptor,
      assumptions: [
        `found by running it: ${inChannels} channel${inChannels > 1 ? 's' : ''} in, ${outC} out, ×${scale}, sizes a multiple of ${sizeMultiplePx} px`,
        'assumed: values 0–1, RGB channel order, NCHW layout (as ESRGAN-family exports take)',
        `assumed: ${assumedMarginPx} px of context per tile edge`,
        `task taken as ${task} from the scale and channels`,
      ],
    };
  } finally {
    await session.release();
  }
}
