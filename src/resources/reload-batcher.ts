// What the app (or the sidecars a resource names in reload_process) is told when a file it reads
// really changed. A resource with reload_cmd runs it; the others ask for their signal (SIGHUP by
// default, a sidecar's own reload signal) or a restart, and the requests of files written close
// together are batched per process: one 'app.reload' (or 'process.reload') per signal, or one
// 'app.restart' (or 'process.restart') that stands for all of them, since a restarted process
// reads every file anyway.

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

/** The app, as reload_process names it. */
const APP = 'app';
/** A sidecar's own reload signal (STEWARD_PROCESS_<NAME>_RELOAD_SIGNAL), as a batch key. */
const OWN_SIGNAL = 'own';

/** One process's requests of a batch: its signals (with the files that asked) and its restart. */
interface Requests {
  readonly signals: Map<SignalName | typeof OWN_SIGNAL, string[]>;
  readonly restarts: string[];
}

export function createReloadBatcher(o: ReloadOptions): ReloadBatcher {
  const batch = new Map<string, Requests>();
  let flush: TimerHandle | undefined;

  function sendTo(name: string, { signals, restarts }: Requests): void {
    if (restarts.length > 0) {
      const reason = `changed: ${[...restarts, ...[...signals.values()].flat()].join(', ')}`;
      if (name === APP) o.bus.emit('app.restart', { reason });
      else o.bus.emit('process.restart', { name, reason });
      return;
    }
    for (const [signal, dests] of signals) {
      const reason = `changed: ${dests.join(', ')}`;
      if (name === APP && signal !== OWN_SIGNAL) o.bus.emit('app.reload', { signal, reason });
      else if (name !== APP) o.bus.emit('process.reload', { name, signal: signal === OWN_SIGNAL ? undefined : signal, reason });
    }
  }

  function send(): void {
    flush = undefined;
    for (const [name, requests] of batch) sendTo(name, requests);
    batch.clear();
  }

  function queue(r: TemplateResource): void {
    const names = r.reloadProcesses?.names ?? [APP];
    for (const name of names) {
      // The rollout restarts the app itself, in its turn; a sidecar's restart stays here.
      if (name === APP && r.reload.kind === 'restart' && o.restartsByRollout === true) continue;
      let requests = batch.get(name);
      if (requests === undefined) {
        requests = { signals: new Map(), restarts: [] };
        batch.set(name, requests);
      }
      if (r.reload.kind === 'restart') requests.restarts.push(r.dest);
      else if (r.reload.kind === 'signal') {
        // A sidecar named with no `reload` of the resource's own gets its own reload signal; the app SIGHUP, as ever.
        const key = name !== APP && r.reloadProcesses?.ownSignal === true ? OWN_SIGNAL : r.reload.signal;
        requests.signals.set(key, [...(requests.signals.get(key) ?? []), r.dest]);
      }
    }
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
      queue(r);
      // Files written before the timer fires (the same turn at least) make one request per process.
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
