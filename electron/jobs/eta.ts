/** Seconds left if the rest goes at the rate so far; null before there is a rate. */
export function etaSeconds(fraction: number, elapsedSeconds: number): number | null {
  if (!(fraction > 0) || elapsedSeconds <= 0) return null;
  return Math.max(0, (elapsedSeconds / fraction) * (1 - Math.min(fraction, 1)));
}
