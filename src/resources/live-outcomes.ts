// What a live render's outcome sets off, in order: one log line (a failed render keeps the last
// good file), a retry of a failed write (write-retries.ts), check_cmd's memory of the content it
// rejected, reload_cmd for its own file, and the app's reload, held until its batch is whole
// (reload-hold.ts).

import { formatDuration } from '../config/values.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/log.ts';
import type { ResourceOutcome } from './pipeline.ts';
import type { ReloadBatcher } from './reload-batcher.ts';
import { createReloadHold } from './reload-hold.ts';
import type { TemplateResource } from './resource.ts';
import { createWriteRetries } from './write-retries.ts';

export interface LiveOutcomesOptions {
  readonly clock: Clock;
  readonly log: Logger;
  readonly batcher: ReloadBatcher;
  /** STEWARD_RELOAD_HOLD. */
  readonly holdMs: number;
  readonly syncOnly: boolean;
  /** Renders `resource` again at once (a failed write's retry). */
  readonly retry: (resource: TemplateResource) => void;
}

export interface LiveOutcomes {
  /** A change made `resources` due, as one batch. */
  due(resources: readonly TemplateResource[]): void;
  /** The digest of the content check_cmd last rejected for `resource`, if any. */
  rejectedDigest(resource: TemplateResource): string | undefined;
  handle(resource: TemplateResource, outcome: ResourceOutcome): Promise<void>;
  /** What was due will not render: retries are dropped, and a held reload is sent when `release`. */
  clear(release: boolean): void;
  stop(): void;
}

export function createLiveOutcomes(o: LiveOutcomesOptions): LiveOutcomes {
  const hold = createReloadHold({ clock: o.clock, log: o.log, holdMs: o.holdMs, release: (written) => written.forEach((r) => void o.batcher.written(r)) });
  const retries = createWriteRetries({ clock: o.clock, retry: o.retry });
  const rejected = new WeakMap<TemplateResource, string>();
  return {
    due: (resources) => hold.due(resources),
    rejectedDigest: (r) => rejected.get(r),
    async handle(r, outcome) {
      if (outcome.kind === 'check-failed') rejected.set(r, outcome.digest);
      else if (outcome.kind === 'written' || outcome.kind === 'unchanged') rejected.delete(r);
      logLiveOutcome(r, outcome, o.log, retries.after(r, outcome));
      // reload_cmd runs when its own file is written; the app's reload waits for the whole batch.
      if (outcome.kind === 'written' && r.reloadCmd !== undefined) await o.batcher.written(r);
      const signals = outcome.kind === 'written' && r.reloadCmd === undefined && r.reload.kind !== 'none' && !o.syncOnly;
      hold.settle(r, outcome.kind === 'written' || outcome.kind === 'unchanged', signals);
    },
    clear(release) {
      retries.clear();
      hold.clear(release);
    },
    stop: () => retries.stop(),
  };
}

/**
 * A live render keeps the last good file whatever goes wrong: the log says what and why, in one
 * line per attempt (`retryInMs`: when a failed write is tried again).
 */
function logLiveOutcome(r: TemplateResource, outcome: ResourceOutcome, log: Logger, retryInMs: number | undefined): void {
  const fields = { resource: r.name, dest: r.dest };
  switch (outcome.kind) {
    case 'unchanged':
      log.debug('rendered; no change', fields);
      return;
    case 'written':
      log.info(`updated ${r.dest}`, { ...fields, changed: outcome.differences, inPlace: outcome.inPlace || undefined });
      return;
    case 'missing-key':
      log.error(`key ${outcome.key} is missing; keeping the last ${r.dest}`, { ...fields, error: outcome.message });
      return;
    case 'check-failed':
      if (outcome.repeated === true) log.info(`check_cmd already rejected this ${r.dest}; keeping the last one until a change`, fields);
      else log.error(`check_cmd rejected the new ${r.dest}; keeping the last one until a change`, { ...fields, error: outcome.message, output: outcome.output });
      return;
    case 'render-failed':
      log.error(`cannot update ${r.dest}; keeping the last one`, { ...fields, error: outcome.message });
      return;
    case 'write-failed':
      if (retryInMs === undefined) log.error(`cannot update ${r.dest}; keeping the last one`, { ...fields, error: outcome.message });
      else log.error(`cannot update ${r.dest}; keeping the last one and trying again in ${formatDuration(retryInMs)}`, { ...fields, error: outcome.message, retryInMs });
      return;
    case 'would-change':
      return;
  }
}
