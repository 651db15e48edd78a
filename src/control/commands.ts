// What each control command does, whatever carried it (only the socket does, for the commands
// that change something).

import type { Bus } from '../core/bus.ts';
import type { SkipReason } from '../jobs/run-job.ts';
import type { ControlAnswer, ControlRequest } from './protocol.ts';
import type { StatusBoard } from './status-board.ts';
import { statusTable } from './status-table.ts';
import type { OperatorViews } from './views.ts';

export interface CommandContext {
  readonly bus: Bus;
  readonly board: StatusBoard;
  readonly views: OperatorViews;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

async function reload(views: OperatorViews): Promise<ControlAnswer> {
  if (views.templates === undefined) return { exitCode: 1, text: 'no template resources to render' };
  let reports;
  try {
    reports = await views.templates.renderNow();
  } catch (error) {
    return { exitCode: 1, text: `cannot render now: ${error instanceof Error ? error.message : String(error)}` };
  }
  const lines = reports.map((r) => `${r.resource}: ${r.outcome ?? 'not rendered'} (${r.dest})`);
  const failed = reports.filter((r) => r.outcome === undefined || !['written', 'unchanged'].includes(r.outcome));
  return { exitCode: failed.length === 0 ? 0 : 1, text: lines.join('\n') };
}

async function runJob(ctx: CommandContext, name: string): Promise<ControlAnswer> {
  const jobs = ctx.views.jobs;
  if (jobs === undefined) return { exitCode: 1, text: 'no jobs are configured' };
  if (!jobs.status().some((j) => j.name === name)) return { exitCode: 1, text: `no job or backup is named ${JSON.stringify(name)}` };
  let skipped: SkipReason | undefined;
  const off = ctx.bus.on('job.skipped', (e) => {
    if (e.job === name && e.scheduledFor === undefined) skipped = e.reason;
  });
  try {
    const record = await jobs.runNow(name);
    if (record === undefined) return { exitCode: 1, text: `${name} did not run: ${skipped ?? 'skipped'}` };
    if (record.ok) return { exitCode: 0, text: `${name} ok in ${seconds(record.durationMs)}` };
    return { exitCode: 1, text: `${name} failed in ${seconds(record.durationMs)}: ${record.failure ?? 'failed'}` };
  } finally {
    off();
  }
}

async function maintenance(views: OperatorViews, on: boolean): Promise<ControlAnswer> {
  if (views.registration === undefined) return { exitCode: 1, text: 'no service is registered (STEWARD_SERVICE_NAME)' };
  try {
    await views.registration.maintenance(on, 'steward --maintenance on');
  } catch (error) {
    return { exitCode: 1, text: `cannot ${on ? 'enter' : 'leave'} maintenance: ${error instanceof Error ? error.message : String(error)}` };
  }
  return { exitCode: 0, text: on ? 'in maintenance: the service gets no traffic' : 'out of maintenance' };
}

export async function answer(ctx: CommandContext, request: ControlRequest): Promise<ControlAnswer> {
  switch (request.command) {
    case 'health': {
      const h = ctx.board.health();
      return { exitCode: h.status === 'healthy' ? 0 : 1, text: `${h.status}: ${h.reason}` };
    }
    case 'status': {
      const status = ctx.board.document();
      return { exitCode: 0, text: statusTable(status), status };
    }
    case 'reload':
      return reload(ctx.views);
    case 'run-job':
      return runJob(ctx, request.job);
    case 'maintenance':
      return maintenance(ctx.views, request.on);
    case 'rollout-release':
      return { exitCode: 0, text: ctx.views.rollout === undefined ? 'no rollout lock is held' : await ctx.views.rollout.release() };
  }
}
