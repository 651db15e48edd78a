// What the app is told when a file it reads really changed. A resource with reload_cmd runs it;
// the others ask for their signal (SIGHUP by default) or a restart, and the requests of files
// written close together are batched: one 'app.reload' per signal, or one 'app.restart' that
// stands for all of them, since a restarted app reads every file anyway.

import type { Bus } from '../core/bus.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import { runCommand } from '../core/exec.ts';
import { ConfigError } from '../core/exit-codes.ts';
import type { Logger } from '../core/log.ts';
import type { SignalName } from '../config/values.ts';
import type { ResourceOutcome } from './pipeline.ts';
import type { TemplateResource } from './resource.ts';

export interface ReloadOptions {
  readonly bus: Bus;
  readonly clock: Clock;
  readonly log: Logger;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly commandTimeoutMs: number;
  /** CONFD_SYNC_ONLY: files are written, nothing is run or signalled. */
  readonly syncOnly: boolean;
  /** The rollout (src/rollout/) restarts the app itself once a restart resource's file is installed. */
  readonly restartsByRollout?: boolean;
}

export interface ReloadBatcher {
  /** `resource`'s file was written: run its reload_cmd, or queue its signal or restart. */
  written(resource: TemplateResource): Promise<void>;
}

export function createReloadBatcher(o: ReloadOptions): ReloadBatcher {
  const signals = new Map<SignalName, string[]>();
  const restarts: string[] = [];
  let flush: TimerHandle | undefined;

  function send(): void {
    flush = undefined;
    if (restarts.length > 0) {
      o.bus.emit('app.restart', { reason: `changed: ${[...restarts, ...[...signals.values()].flat()].join(', ')}` });
    } else {
      for (const [signal, dests] of signals) o.bus.emit('app.reload', { signal, reason: `changed: ${dests.join(', ')}` });
    }
    restarts.length = 0;
    signals.clear();
  }

  return {
    async written(r) {
      if (o.syncOnly) return;
      if (r.reloadCmd !== undefined) {
        const result = await runCommand({ shell: r.reloadCmd }, { source: { kind: 'reload_cmd', name: r.name }, log: o.log, timeoutMs: o.commandTimeoutMs, env: o.env });
        o.bus.emit('resource.reloaded', { resource: r.name, dest: r.dest, how: 'command', ok: result.ok });
        if (result.ok) o.log.info('reload_cmd done', { resource: r.name, ms: Math.round(result.durationMs) });
        else o.log.error(`reload_cmd failed (${result.failure})`, { resource: r.name, output: result.output });
        return;
      }
      if (r.reload.kind === 'none') return;
      o.bus.emit('resource.reloaded', { resource: r.name, dest: r.dest, how: r.reload.kind === 'restart' ? 'restart' : 'signal', ok: true });
      if (r.reload.kind === 'restart') {
        if (o.restartsByRollout === true) return;
        restarts.push(r.dest);
      }
      else signals.set(r.reload.signal, [...(signals.get(r.reload.signal) ?? []), r.dest]);
      // Files written before the timer fires (the same turn at least) make one request.
      flush ??= o.clock.setTimer(0, send);
    },
  };
}

/** --once: runs the reload_cmd of every resource the first render wrote; a failure is a ConfigError. */
export async function runReloadCommandsOnce(outcomes: ReadonlyMap<TemplateResource, ResourceOutcome>, o: Omit<ReloadOptions, 'bus' | 'clock'>): Promise<void> {
  if (o.syncOnly) return;
  for (const [r, outcome] of outcomes) {
    if (outcome.kind !== 'written' || r.reloadCmd === undefined) continue;
    const result = await runCommand({ shell: r.reloadCmd }, { source: { kind: 'reload_cmd', name: r.name }, log: o.log, timeoutMs: o.commandTimeoutMs, env: o.env });
    if (!result.ok) throw new ConfigError(`${r.name}: reload_cmd failed (${result.failure}): ${result.output.split('\n').slice(-3).join(' | ')}`);
  }
}
