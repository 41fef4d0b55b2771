import type { Handler } from '../context.ts';

export const listJobs: Handler<'listJobs'> = async (ctx) => ctx.jobs.list();
