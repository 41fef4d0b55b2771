// What a prepared store buys per epoch: reading raw RGB from the store vs decoding the source files again.
// Usage: npx tsx trainer/bench/bench-store.ts [datasetDir ...]
// Both epochs run with a warm OS page cache (the sources were just read, the store just written), which is
// the steady state of a training run; times are the best of a few epochs.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importImages, listFiles } from '../data/import-images.ts';
import { importToStore, openImageStore } from '../data/image-store.ts';

const EPOCHS = 3;
const datasets = process.argv.slice(2);
if (datasets.length === 0) {
  datasets.push('../shared/datasets/BSDS200', '../shared/datasets/Imagenette160_subset/train');
}

async function bestOfMs(runs: number, epoch: () => Promise<number>): Promise<{ ms: number; pixelBytes: number }> {
  let best = Infinity;
  let pixelBytes = 0;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    pixelBytes = await epoch();
    best = Math.min(best, performance.now() - start);
  }
  return { ms: best, pixelBytes };
}

const results = [];
for (const datasetDir of datasets) {
  const files = await listFiles(datasetDir);
  let sourceBytes = 0;
  for (const file of files) sourceBytes += (await stat(file)).size;
  const storeDir = await mkdtemp(join(tmpdir(), 'enhance-bench-store-'));
  try {
    const importStart = performance.now();
    const summary = await importToStore(storeDir, datasetDir);
    const importMs = performance.now() - importStart;
    const storeBytes = (await stat(join(storeDir, 'pixels.bin'))).size + (await stat(join(storeDir, 'index.json'))).size;

    const fromStore = await bestOfMs(EPOCHS, async () => {
      const store = openImageStore(storeDir);
      let bytes = 0;
      for (let i = 0; i < store.count; i++) bytes += store.get(i).data.length;
      store.close();
      return bytes;
    });
    const decoding = await bestOfMs(EPOCHS, async () => {
      let bytes = 0;
      for await (const result of importImages(files)) if ('image' in result) bytes += result.image.data.length;
      return bytes;
    });
    if (fromStore.pixelBytes !== decoding.pixelBytes) throw new Error(`${datasetDir}: store and decode epochs disagree`);
    results.push({
      dataset: datasetDir,
      images: summary.count,
      skipped: summary.skipped.length,
      sourceMB: sourceBytes / 1e6,
      storeMB: storeBytes / 1e6,
      importS: importMs / 1000,
      epochFromStoreS: fromStore.ms / 1000,
      epochDecodingS: decoding.ms / 1000,
      speedup: decoding.ms / fromStore.ms,
    });
  } finally {
    await rm(storeDir, { recursive: true, force: true });
  }
}

const fixed = (value: number, digits: number) => value.toFixed(digits);
console.log('| dataset | images | source MB | store MB | store/source | import s | epoch from store s | epoch decoding s | speed-up |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of results) {
  console.log(
    `| ${r.dataset} | ${r.images} | ${fixed(r.sourceMB, 1)} | ${fixed(r.storeMB, 1)} | ${fixed(r.storeMB / r.sourceMB, 2)}x | ` +
      `${fixed(r.importS, 2)} | ${fixed(r.epochFromStoreS, 3)} | ${fixed(r.epochDecodingS, 2)} | ${fixed(r.speedup, 1)}x |`,
  );
}
console.log(JSON.stringify({ bench: 'store', epochs: EPOCHS, results }));
