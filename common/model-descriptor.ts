// What a model says about itself; the engine and the UI read this, never file names.
export type Task = 'upscale' | 'decrappify' | 'colorize';

export interface ModelDescriptor {
  task: Task;
  /** Output side / input side: 2 or 4 for upscale, 1 otherwise. */
  scale: 1 | 2 | 4;
  /** Channels the network takes: 3 (RGB) or 1 (luminance, colorize). */
  inChannels: 1 | 3;
  /** Channels it returns: 3 (RGB) or 2 (chroma for colorize). */
  outChannels: 2 | 3;
  /** Input height and width must be a multiple of this; the engine pads and crops back. */
  sizeMultiplePx: number;
  /** Pixels of context each output pixel depends on beyond its own; tiles overlap by at least this. */
  receptiveMarginPx: number;
  /** Input values: RGB or luminance in [0, 1], NCHW for ONNX, NHWC in TF.js. */
  inputRange: [0, 1];
  /** 'pre-upsampled' models expect the input already resized to the output size. */
  resolution: 'low-res' | 'pre-upsampled';
  architecture: string;
}
