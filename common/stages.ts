import type { Stage } from './model-manifest.ts';

/**
 * Reads a stage list as the CLI writes it, e.g. "1:frozen,3" (1 epoch with the encoder frozen,
 * then 3 with everything training) or "2:frozen@1e-3,4@2e-4". Stages without "@LR" take `lr` for
 * the first and lr/5 after it (gradual unfreezing at a lower peak rate).
 */
export function parseStages(text: string, lr: number): Stage[] {
  return text.split(',').map((part, i) => {
    const m = /^(\d+)(:frozen)?(?:@([\d.]+(?:e[+-]?\d+)?))?$/i.exec(part.trim());
    if (!m) throw new RangeError(`cannot read stage '${part.trim()}' (expected e.g. 1:frozen or 3@1e-4)`);
    return { epochs: Number(m[1]), lr: m[3] ? Number(m[3]) : i === 0 ? lr : lr / 5, ...(m[2] ? { freeze: ['encoder'] } : {}) };
  });
}

export function formatStages(stages: Stage[]): string {
  return stages.map((s) => `${s.epochs}${s.freeze?.includes('encoder') ? ':frozen' : ''}@${s.lr}`).join(',');
}
