// The 8 symmetries of the square: training augments with them, the engine's self-ensemble averages over them.

/**
 * One of the 8 symmetries of the square (k = 0–7: rotation by k·90° for k & 3, then a horizontal
 * flip if k & 4) of an interleaved HWC array. Returns the new array and its height and width.
 */
export function dihedral(data: Float32Array, height: number, width: number, channels: number, k: number): { data: Float32Array; height: number; width: number } {
  const rot = k & 3;
  const flip = (k & 4) !== 0;
  const oh = rot % 2 ? width : height;
  const ow = rot % 2 ? height : width;
  const out = new Float32Array(data.length);
  for (let r = 0; r < oh; r++) {
    for (let c = 0; c < ow; c++) {
      const cc = flip ? ow - 1 - c : c;
      // Source pixel of output (r, cc) under a counter-clockwise rotation by rot·90°.
      const [sr, sc] = rot === 0 ? [r, cc] : rot === 1 ? [cc, width - 1 - r] : rot === 2 ? [height - 1 - r, width - 1 - cc] : [height - 1 - cc, r];
      const src = (sr * width + sc) * channels;
      const dst = (r * ow + c) * channels;
      for (let ch = 0; ch < channels; ch++) out[dst + ch] = data[src + ch];
    }
  }
  return { data: out, height: oh, width: ow };
}

/** The symmetry that undoes symmetry k: a reflection undoes itself, a rotation by r quarter turns needs 4 − r. */
export function inverseSymmetry(k: number): number {
  return k & 4 ? k : (4 - k) & 3;
}
