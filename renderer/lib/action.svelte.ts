// A view's buttons run one action at a time: they are disabled while it runs, and what went wrong
// with the last one is shown until the next starts or the user dismisses it.
import type { EnhanceError } from '../../common/errors.ts';
import { toEnhanceError } from './api.ts';

export class Action {
  busy = $state(false);
  error: EnhanceError | undefined = $state();

  async run(work: () => Promise<void>): Promise<void> {
    this.busy = true;
    this.error = undefined;
    try {
      await work();
    } catch (e) {
      this.error = toEnhanceError(e);
    } finally {
      this.busy = false;
    }
  }
}
