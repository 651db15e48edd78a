// The app is reloaded on a whole batch, not on half of one. A batch is the set of resources that
// changes of the store made due together: one key change, or a burst of them that comes while
// resources of the batch are still waiting for their quiescence or rendering (role() and the like
// count as changes too). Its resources render and are installed one by one, as always; the
// reload they ask for is sent once every resource of the batch has a good outcome (written or
// unchanged). When one of them cannot be installed (a write error, a failing check_cmd, a
// template error, a key gone), the files that did change stay installed, and the reload is held
// until that resource is installed after all (a retry, the next change), or until
// STEWARD_RELOAD_HOLD has passed: the log says which. A resource with reload_cmd runs it when its
// own file is written; only the app's signal or restart is held.

import type { Clock, TimerHandle } from '../core/clock.ts';
import type { Logger } from '../core/log.ts';
import { formatDuration } from '../config/values.ts';
import type { TemplateResource } from './resource.ts';

export interface ReloadHoldOptions {
  readonly clock: Clock;
  readonly log: Logger;
  /** STEWARD_RELOAD_HOLD. */
  readonly holdMs: number;
  /** Asks for the reload of these resources' files (the reload batcher). */
  readonly release: (written: readonly TemplateResource[]) => void;
}

export interface ReloadHold {
  /** A change made these resources due: they join the batch under way, or start one. */
  due(resources: Iterable<TemplateResource>): void;
  /**
   * `resource` has an outcome: `good` when its file is as rendered (written or unchanged);
   * `reload` when it was written and asks the app to reload.
   */
  settle(resource: TemplateResource, good: boolean, reload: boolean): void;
  /**
   * Forgets every batch; with `release`, the reloads held back are asked for now (the resources
   * were replaced and render again), without it they are dropped (steward stops).
   */
  clear(release: boolean): void;
}

interface Batch {
  /** Members that have had no outcome since they joined. */
  readonly awaiting: Set<TemplateResource>;
  /** Members whose last outcome was a failure. */
  readonly failed: Set<TemplateResource>;
  /** Members written since they joined, whose reload waits for the batch. */
  readonly written: TemplateResource[];
  held: { readonly timer: TimerHandle; readonly since: number } | undefined;
}

function names(resources: Iterable<TemplateResource>): string {
  return [...resources].map((r) => r.dest).join(', ');
}

export function createReloadHold(o: ReloadHoldOptions): ReloadHold {
  const { clock, log } = o;
  const batches: Batch[] = [];

  function finish(b: Batch, why: 'whole' | 'hold ran out'): void {
    b.held?.timer.cancel();
    batches.splice(batches.indexOf(b), 1);
    if (b.written.length === 0) return;
    if (why === 'hold ran out') {
      log.warn(`reloading the app after STEWARD_RELOAD_HOLD (${formatDuration(o.holdMs)}) although ${names(b.failed)} could not be installed; the files that did change are: ${names(b.written)}`, {
        notInstalled: [...b.failed].map((r) => r.name),
      });
    } else if (b.held !== undefined) {
      log.info(`every file of the batch is installed after ${formatDuration(clock.monotonic() - b.held.since)}: reloading the app`, { changed: names(b.written) });
    }
    o.release(b.written);
  }

  function review(b: Batch): void {
    if (b.awaiting.size > 0 || !batches.includes(b)) return;
    if (b.failed.size === 0) return finish(b, 'whole');
    // Nothing to hold back: a member installed later asks for its own reload.
    if (b.written.length === 0) return finish(b, 'whole');
    if (b.held !== undefined) return;
    log.warn(`holding the app's reload until ${names(b.failed)} is installed (at most ${formatDuration(o.holdMs)}, STEWARD_RELOAD_HOLD); already installed: ${names(b.written)}`);
    b.held = { timer: clock.setTimer(o.holdMs, () => finish(b, 'hold ran out')), since: clock.monotonic() };
  }

  return {
    due(resources) {
      // The batch under way is the newest one still waiting for outcomes.
      let open = batches.at(-1);
      if (open === undefined || open.awaiting.size === 0) {
        open = { awaiting: new Set(), failed: new Set(), written: [], held: undefined };
        batches.push(open);
      }
      for (const r of resources) open.awaiting.add(r);
    },
    settle(r, good, reload) {
      const mine = batches.filter((b) => b.awaiting.has(r) || b.failed.has(r));
      if (mine.length === 0) {
        if (reload) o.release([r]);
        return;
      }
      for (const b of mine) {
        b.awaiting.delete(r);
        if (good) b.failed.delete(r);
        else b.failed.add(r);
      }
      // One reload per write: it joins the newest batch, which an older one waits for anyway.
      if (reload) mine.at(-1)?.written.push(r);
      for (const b of mine) review(b);
    },
    clear(release) {
      const written = batches.splice(0).flatMap((b) => {
        b.held?.timer.cancel();
        return b.written;
      });
      if (release && written.length > 0) o.release(written);
    },
  };
}
