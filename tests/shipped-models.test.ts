// Every model marked trained in the manifest must do its job on a photo-like image it has never
// seen (generated here): upscalers beat bicubic (by > 0.2 dB; ×2 +1.8, ×4 +0.4 on this scene), the decrappifier beats the JPEG it is given,
// the colorizer adds colour. Placeholders (trained: false) are skipped with a reason.
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { colourfulness, psnrY, type RgbPixels } from '../common/image-metrics.ts';
import { luma } from '../common/color.ts';
import { resizeBicubic } from '../common/resize.ts';
import type { ModelManifest } from '../common/model-manifest.ts';
import { loadModel } from '../electron/engine/model-session.ts';
import { chromaSink, type RawImage, rgbSink, runTiled } from '../electron/engine/tiling.ts';

const dir = new URL('../resources/models/', import.meta.url);
const manifest = JSON.parse(await readFile(new URL('manifest.json', dir), 'utf8')) as ModelManifest;

/** A 192×144 scene with soft gradients, hard edges, thin lines and text, as sharp renders SVG. */
async function scene(): Promise<RgbPixels> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="192" height="144">
    <defs><linearGradient id="g" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#3a6fb0"/><stop offset="1" stop-color="#c9d9ee"/></linearGradient></defs>
    <rect width="192" height="144" fill="url(#g)"/><circle cx="140" cy="40" r="22" fill="#f3c14b"/>
    <path d="M0 110 Q60 70 120 105 T192 95 V144 H0 Z" fill="#2f6b3a"/>
    ${Array.from({ length: 9 }, (_, i) => `<line x1="${10 + i * 7}" y1="20" x2="${16 + i * 7}" y2="70" stroke="#222" stroke-width="1"/>`).join('')}
    <text x="20" y="132" font-family="sans-serif" font-size="18" fill="#fff">Enhance</text></svg>`;
  const { data, info } = await sharp(Buffer.from(svg)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

async function run(file: string, input: RgbPixels): Promise<RgbPixels> {
  const model = await loadModel(new URL(file, dir).pathname, { providers: 'cpu', threads: 1, onNotice: () => {} });
  try {
    const d = model.descriptor;
    const source: RawImage = { data: Buffer.from(input.data as Uint8Array), widthPx: input.width, heightPx: input.height, channels: 3 };
    const out: RawImage = { data: Buffer.alloc(input.width * d.scale * input.height * d.scale * 3), widthPx: input.width * d.scale, heightPx: input.height * d.scale, channels: 3 };
    await runTiled(model, source, d.scale, { tileSizePx: 256 }, d.task === 'colorize' ? chromaSink(source, out) : rgbSink(out));
    return { data: out.data, width: out.widthPx, height: out.heightPx };
  } finally {
    await model.release();
  }
}

const u8 = (f: ArrayLike<number>) => Uint8Array.from(f as ArrayLike<number>, (v) => Math.round(Math.min(255, Math.max(0, v))));

for (const entry of manifest.models) {
  test(`shipped ${entry.id} does its job on an unseen generated scene`, { skip: entry.trained ? false : 'an untrained placeholder' }, async () => {
    const hr = await scene();
    const d = entry.descriptor;
    if (d.task === 'upscale') {
      const s = d.scale;
      const lr = { data: u8(resizeBicubic(hr.data as Uint8Array, hr.width, hr.height, 3, hr.width / s, hr.height / s)), width: hr.width / s, height: hr.height / s };
      const ours = await run(entry.file, lr);
      const bicubic = { data: u8(resizeBicubic(lr.data, lr.width, lr.height, 3, hr.width, hr.height)), width: hr.width, height: hr.height };
      const o = { cropBorderPx: s };
      assert.ok(psnrY(ours, hr, o) > psnrY(bicubic, hr, o) + 0.2, `${psnrY(ours, hr, o).toFixed(2)} dB vs bicubic ${psnrY(bicubic, hr, o).toFixed(2)} dB`);
    } else if (d.task === 'decrappify') {
      const jpeg = await sharp(hr.data as Uint8Array, { raw: { width: hr.width, height: hr.height, channels: 3 } }).jpeg({ quality: 20, chromaSubsampling: '4:2:0' }).toBuffer();
      const input = { data: await sharp(jpeg).raw().toBuffer(), width: hr.width, height: hr.height };
      const ours = await run(entry.file, input);
      assert.ok(psnrY(ours, hr) > psnrY(input, hr) + 0.3, `${psnrY(ours, hr).toFixed(2)} dB vs JPEG q20 ${psnrY(input, hr).toFixed(2)} dB`);
    } else {
      const n = hr.width * hr.height;
      const grey = new Uint8Array(n * 3);
      const s = hr.data as Uint8Array;
      for (let i = 0; i < n; i++) grey.fill(Math.round(luma(s[3 * i] / 255, s[3 * i + 1] / 255, s[3 * i + 2] / 255) * 255), 3 * i, 3 * i + 3);
      const ours = await run(entry.file, { data: grey, width: hr.width, height: hr.height });
      assert.ok(colourfulness(ours) > 3, `colourfulness ${colourfulness(ours).toFixed(2)} (greyscale 0, original ${colourfulness(hr).toFixed(1)})`);
    }
  });
}
