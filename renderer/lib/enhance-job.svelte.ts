// What Enhance and Batch share: a task, scale and model (bound to a ModelChooser) and the one job
// the view runs with them, which it follows in `jobs` and may cancel.
import { Action } from './action.svelte.ts';
import { api, toEnhanceError } from './api.ts';
import { jobs } from './jobs.svelte.ts';
import type { Task } from './types.ts';

export class EnhanceJob extends Action {
  task: Task = $state('upscale');
  scale: 2 | 4 = $state(2);
  modelId: string | undefined = $state();
  /** The engine's self-ensemble: 8 passes per tile. */
  selfEnsemble = $state(false);
  jobId: string | undefined = $state();

  readonly job = $derived(this.jobId ? jobs[this.jobId] : undefined);
  /** From the click on Start until the job finishes. */
  readonly running = $derived(this.busy || this.job?.status === 'running');
  /** The API's `scale`: only upscaling has one. */
  readonly scaleArg = $derived(this.task === 'upscale' ? this.scale : undefined);

  start(begin: () => Promise<{ jobId: string }>): Promise<void> {
    return this.run(async () => {
      ({ jobId: this.jobId } = await begin());
    });
  }

  async cancel(): Promise<void> {
    if (!this.jobId) return;
    try {
      await api.cancelJob({ jobId: this.jobId });
    } catch (e) {
      this.error = toEnhanceError(e);
    }
  }
}
