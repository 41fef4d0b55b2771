/**
 * One-cycle schedule (Smith): learning rate warms up with a cosine from maxLr/divStart to maxLr over
 * `warmup` of the run, then anneals to maxLr/divEnd; Adam's beta1 moves the opposite way.
 */
export function oneCycle(fraction: number, maxLr: number, o: { warmup?: number; divStart?: number; divEnd?: number } = {}):
  { lr: number; beta1: number } {
  const warmup = o.warmup ?? 0.3;
  const lo = maxLr / (o.divStart ?? 25);
  const end = maxLr / (o.divEnd ?? 1e4);
  const cos = (a: number, b: number, t: number) => b + ((a - b) * (1 + Math.cos(Math.PI * t))) / 2;
  const f = Math.min(Math.max(fraction, 0), 1);
  if (f < warmup) {
    const t = f / warmup;
    return { lr: cos(lo, maxLr, t), beta1: cos(0.95, 0.85, t) };
  }
  const t = (f - warmup) / (1 - warmup);
  return { lr: cos(maxLr, end, t), beta1: cos(0.85, 0.95, t) };
}
