// BT.601 full-range YCbCr (as in JPEG), channels in [0, 1] with Cb and Cr centred on 0: colorize
// predicts (Cb, Cr) from Y, and the engine recombines them with the photo's own full-resolution Y.

export function luma(r: number, g: number, b: number): number {
  return 0.299 * r + 0.587 * g + 0.114 * b;
}

export function rgbToYcc(r: number, g: number, b: number): [number, number, number] {
  return [
    luma(r, g, b),
    -0.168736 * r - 0.331264 * g + 0.5 * b,
    0.5 * r - 0.418688 * g - 0.081312 * b,
  ];
}

export function yccToRgb(y: number, cb: number, cr: number): [number, number, number] {
  return [y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb];
}
