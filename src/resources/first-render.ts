// Start-up: the render queue renders every resource once, at once, and the app may start only
// when each one has a good outcome. A resource whose keys do not exist yet is waited for (and
// reported every 5 s) until the config timeout; a template, check_cmd or write that fails stops
// the start with a ConfigError, before any later resource is written.

import type { BackendStatus } from '../backends/backend.ts';
import { formatDuration } from '../config/values.ts';
import type { Clock } from '../core/clock.ts';
import { ConfigError, UnavailableError } from '../core/exit-codes.ts';
import type { Logger } from '../core/log.ts';
import { pause } from '../core/process-control/clock-waits.ts';
import type { ResourceOutcome } from './pipeline.ts';
import type { RenderQueue } from './render-queue.ts';
import type { TemplateResource } from './resource.ts';

/** How often, while waiting for keys, the ones still missing are logged. */
const MISSING_REPORT_MS = 5000;

/** Ends the start-up wait early: something changed (keys, the store's health, role()). */
export interface Wakeup {
  fire(): void;
  /** Resolves after `ms`, on `fire`, or when `abort` aborts. */
  wait(ms: number, abort: AbortSignal): Promise<void>;
}

export function createWakeup(clock: Clock): Wakeup {
  let woken: AbortController | undefined;
  return {
    fire: () => woken?.abort(),
    async wait(ms, abort) {
      woken = new AbortController();
      await pause(clock, ms, AbortSignal.any([abort, woken.signal]));
      woken = undefined;
    },
  };
}

export interface FirstRenderOptions {
  readonly queue: RenderQueue;
  readonly wakeup: Wakeup;
  readonly clock: Clock;
  readonly log: Logger;
  /** Monotonic: when STEWARD_CONFIG_TIMEOUT runs out. */
  readonly deadline: number;
  readonly configTimeoutMs: number;
  /** The store and its health, for the error when keys are still missing at the deadline. */
  readonly store: () => { readonly name: string; readonly source: string; readonly status: BackendStatus };
}

/** The error that stops the start, for an outcome that is not merely waiting for keys. */
export function startUpFailure(r: TemplateResource, outcome: ResourceOutcome): ConfigError | undefined {
  switch (outcome.kind) {
    case 'render-failed':
      return new ConfigError(`${r.name}: ${outcome.message}`);
    case 'check-failed':
      return new ConfigError(`${r.name}: ${outcome.message} for ${r.dest}${outcome.output === '' ? '' : `: ${outcome.output.split('\n').slice(-3).join(' | ')}`}`);
    case 'write-failed':
      return new ConfigError(`${r.name}: cannot write ${r.dest}: ${outcome.message}`);
    default:
      return undefined;
  }
}

/** Hears each start-up outcome as it comes; the first failure ends the start: nothing renders after it. */
export function takeStartUpOutcome(r: TemplateResource, outcome: ResourceOutcome, queue: RenderQueue, log: Logger): void {
  if (outcome.kind === 'written') log.info(`wrote ${r.dest}`, { resource: r.name, changed: outcome.differences });
  if (startUpFailure(r, outcome) !== undefined) queue.stop();
}

/**
 * Every resource's good outcome, once each has one; throws when one fails or the deadline
 * passes, and then the queue renders nothing more (steward is on its way out).
 */
export async function renderFirst(o: FirstRenderOptions, abort: AbortSignal): Promise<ReadonlyMap<TemplateResource, ResourceOutcome>> {
  try {
    return await renderUntilGood(o, abort);
  } catch (error) {
    o.queue.stop();
    throw error;
  }
}

async function renderUntilGood(o: FirstRenderOptions, abort: AbortSignal): Promise<ReadonlyMap<TemplateResource, ResourceOutcome>> {
  const { queue, clock } = o;
  let nextReport = clock.monotonic() + MISSING_REPORT_MS;
  queue.start();
  for (;;) {
    await queue.idle();
    const outcomes = new Map<TemplateResource, ResourceOutcome>();
    const missing = new Map<TemplateResource, string>();
    for (const r of queue.resources) {
      const outcome = queue.outcome(r);
      if (outcome === undefined) continue;
      const failure = startUpFailure(r, outcome);
      if (failure !== undefined) throw failure;
      if (outcome.kind === 'missing-key') missing.set(r, outcome.key);
      else outcomes.set(r, outcome);
    }
    if (missing.size === 0 || abort.aborted) return outcomes;
    const now = clock.monotonic();
    const list = [...new Set(missing.values())].sort();
    if (now >= o.deadline) {
      const store = o.store();
      if (store.status.state === 'unreachable') {
        throw new UnavailableError(`the ${store.name} backend at ${store.source} is unreachable (${store.status.error}); still missing after ${formatDuration(o.configTimeoutMs)}: ${list.join(', ')}`);
      }
      throw new ConfigError(`keys still missing after ${formatDuration(o.configTimeoutMs)} (STEWARD_CONFIG_TIMEOUT): ${list.join(', ')}`);
    }
    if (now >= nextReport) {
      o.log.warn(`waiting for keys: ${list.join(', ')}`, { resources: [...missing.keys()].map((r) => r.name) });
      nextReport = now + MISSING_REPORT_MS;
    }
    await o.wakeup.wait(Math.max(1, Math.min(o.deadline, nextReport) - now), abort);
    if (abort.aborted) return outcomes;
    for (const r of missing.keys()) queue.now(r);
  }
}
