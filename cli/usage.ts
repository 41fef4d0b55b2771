import type { ProviderChoice } from '../electron/engine/model-session.ts';

/** A bad command line: the command prints its message with a hint and exits 2. */
export class UsageError extends Error {}

/** --device auto|gpu|cpu, with --cpu as its old spelling of cpu. */
export function deviceOption(device: string | undefined, cpu: boolean): ProviderChoice {
  if (device !== undefined && device !== 'auto' && device !== 'gpu' && device !== 'cpu') throw new UsageError(`--device must be auto, gpu or cpu, not '${device}'`);
  if (cpu && device !== undefined && device !== 'cpu') throw new UsageError(`--cpu contradicts --device ${device}`);
  return cpu ? 'cpu' : (device ?? 'auto');
}
