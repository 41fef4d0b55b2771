import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { selectBackend } from '../trainer/backends/select-backend.ts';
import { kernelInceptionDistance, kidAgainst, kidCrops, pooledFeatures } from '../trainer/eval/kid.ts';
import { frozenEncoder, releaseFrozenEncoders } from '../trainer/losses/perceptual-loss.ts';

test('KID: same distribution ≈ 0, a shifted one clearly positive, and a hand-computed case', () => {
  // Two points each in 1-D: k(a,b) = (ab + 1)^3.
  const f = (v: number) => Float32Array.of(v);
  const x = [f(0), f(1)];
  const y = [f(2), f(3)];
  const kxx = (0 * 1 + 1) ** 3; // pairs (0,1) and (1,0)
  const kyy = (2 * 3 + 1) ** 3;
  const kxy = [[0, 2], [0, 3], [1, 2], [1, 3]].reduce((s, [a, b]) => s + (a * b + 1) ** 3, 0);
  assert.ok(Math.abs(kernelInceptionDistance(x, y) - (kxx + kyy - (2 * kxy) / 4)) < 1e-9);
  let seed = 1;
  const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const sample = (shift: number) => Array.from({ length: 60 }, () => Float32Array.from({ length: 8 }, () => rand() + shift));
  const same = kernelInceptionDistance(sample(0), sample(0));
  const shifted = kernelInceptionDistance(sample(0), sample(0.5));
  assert.ok(Math.abs(same) < 0.05, `same ${same}`);
  assert.ok(shifted > 10 * Math.abs(same) && shifted > 0.1, `shifted ${shifted} vs same ${same}`);
});

test('KID crops tile the image without overlap and drop the leftover border', () => {
  const width = 130, height = 70;
  const data = Uint8Array.from({ length: width * height * 3 }, (_, i) => i % 251);
  const crops = kidCrops({ data, width, height });
  assert.equal(crops.length, 2);
  assert.equal(crops[1][0], Math.fround(data[64 * 3] / 255));
});

test('kidAgainst scores each output set against reference features computed once, as the direct KID does', async () => {
  await selectBackend('wasm');
  const encoder = frozenEncoder(fileURLToPath(new URL('../resources/pretrained/encoder-imagenette-32-64-128-256.ckpt', import.meta.url)));
  try {
    const image = (seed: number) => ({ data: Uint8Array.from({ length: 128 * 128 * 3 }, (_, i) => (i * seed + (i >> 7) * 3) % 256), width: 128, height: 128 });
    const refs = [image(1), image(2)];
    const kidOf = kidAgainst(encoder, refs);
    for (const outs of [[image(3), image(5)], [image(1), image(2)]]) {
      const direct = kernelInceptionDistance(pooledFeatures(encoder, outs.flatMap(kidCrops)), pooledFeatures(encoder, refs.flatMap(kidCrops)));
      assert.equal(kidOf(outs), direct);
    }
    assert.ok(kidOf([image(3), image(5)]) !== kidOf(refs));
  } finally {
    releaseFrozenEncoders();
  }
});
