import type { BackendSelection } from '../trainer/backends/select-backend.ts';
import type { FitEvent } from '../trainer/fit/callbacks.ts';
import { bar, formatDuration, ProgressLine } from './progress-line.ts';

/** Ctrl-C asks a fit to stop after the current batch (its checkpoint stays resumable); a second one quits. */
function stopOnCtrlC(line: ProgressLine): { signal: AbortSignal; dispose(): void } {
  const abort = new AbortController();
  const onSigint = () => {
    line.log('stopping after this batch… (Ctrl-C again to quit at once)');
    abort.abort();
    process.once('SIGINT', () => process.exit(130));
  };
  process.once('SIGINT', onSigint);
  return { signal: abort.signal, dispose: () => process.off('SIGINT', onSigint) };
}

/**
 * Runs a command's body with Ctrl-C handling: an interruption before training starts (while decoding
 * photos) ends with exit 1 and how to continue; the handler and the status line are always released.
 */
export async function withCtrlC(line: ProgressLine, preparing: string, body: (signal: AbortSignal) => Promise<number>): Promise<number> {
  const stop = stopOnCtrlC(line);
  try {
    return await body(stop.signal);
  } catch (err) {
    if (!stop.signal.aborted) throw err;
    line.log(`stopped while preparing ${preparing}; rerun the same command to continue.`);
    return 1;
  } finally {
    stop.dispose();
    line.done();
  }
}

export function workersFor(sel: BackendSelection, requested: string | undefined): number {
  if (requested === undefined) return sel.backend === 'wasm' ? 2 : 0;
  const n = Number(requested);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--workers must be a whole number, not '${requested}'`);
  return n;
}

/** A progress bar while batches run and one summary line per epoch. */
export function fitReporter(line: ProgressLine, describeStage: (stage: number) => string = () => ''): (e: FitEvent) => void {
  return (e) => {
    if (e.kind === 'batch') {
      line.update(`${bar(e.fraction)} epoch ${e.epoch + 1}/${e.epochs} step ${e.batch + 1}/${e.batches} loss ${e.loss.toFixed(5)} ` +
        `lr ${e.lr.toExponential(1)} ${e.imgPerSec.toFixed(1)} img/s ETA ${formatDuration(e.etaSec)}`);
      return;
    }
    const r = e.record;
    const metrics = Object.entries(r.metrics ?? {}).map(([k, v]) => `, ${k} ${v.toFixed(k.startsWith('ssim') ? 4 : 2)}`).join('');
    line.log(`epoch ${r.epoch}/${e.epochs}${describeStage(r.stage)}: train loss ${r.trainLoss.toFixed(5)}` +
      `${r.valLoss === undefined ? '' : `, validation loss ${r.valLoss.toFixed(5)}`}${metrics}, ${r.imgPerSec.toFixed(1)} img/s, ${formatDuration(r.seconds)}`);
  };
}
