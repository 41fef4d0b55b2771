/** One training batch as plain arrays (NHWC images; labels as one-hot rows), cheap to send to a worker. */
export interface Batch {
  x: Float32Array;
  xShape: number[];
  y: Float32Array;
  yShape: number[];
}

/** Splits a batch along N into `parts` nearly equal shards (views, no copies). */
export function shardBatch(b: Batch, parts: number): Batch[] {
  const n = b.xShape[0];
  const xPer = b.x.length / n;
  const yPer = b.y.length / n;
  const out: Batch[] = [];
  let at = 0;
  for (let i = 0; i < parts; i++) {
    const size = Math.floor(n / parts) + (i < n % parts ? 1 : 0);
    if (size === 0) continue;
    out.push({
      x: b.x.subarray(at * xPer, (at + size) * xPer),
      xShape: [size, ...b.xShape.slice(1)],
      y: b.y.subarray(at * yPer, (at + size) * yPer),
      yShape: [size, ...b.yShape.slice(1)],
    });
    at += size;
  }
  return out;
}

/** Where batches come from. Deterministic in (epoch, index), so a resumed run sees the same data. */
export interface DataSource {
  batchesPerEpoch: number;
  batch(epoch: number, index: number): Batch | Promise<Batch>;
  /** Fixed validation batches (the same every epoch and every run). */
  validation?(): Batch[] | Promise<Batch[]>;
}
