// A file that could not be written because of the filesystem (full, read-only, an I/O error,
// a directory steward may not write) is written again without waiting for the next change of a
// key: the resource renders again after a back-off, from 1 s doubling up to one minute, until it
// is installed. Other failures are not retried: a template error or a missing key needs a
// change, and a check_cmd that rejected a file would reject the same file again.

import type { Clock, TimerHandle } from '../core/clock.ts';
import { exponentialBackoff, type Backoff, type BackoffOptions } from '../core/process-control/backoff.ts';
import type { ResourceOutcome } from './pipeline.ts';
import type { TemplateResource } from './resource.ts';

/** errno codes of a write that may succeed later without any change on steward's side. */
const TRANSIENT = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EIO', 'EACCES']);

export const WRITE_RETRY_BACKOFF: BackoffOptions = { initialMs: 1000, maxMs: 60_000 };

export function isTransientWriteError(code: string | undefined): boolean {
  return code !== undefined && TRANSIENT.has(code);
}

export interface WriteRetries {
  /**
   * Hears every live outcome of `resource`: after a transient write error, schedules its next
   * render and returns the delay; after anything else, forgets it and returns undefined.
   */
  after(resource: TemplateResource, outcome: ResourceOutcome): number | undefined;
  /** Cancels every retry (the resources were replaced). */
  clear(): void;
  /** Cancels every retry and schedules none again. */
  stop(): void;
}

export function createWriteRetries(o: { readonly clock: Clock; readonly retry: (resource: TemplateResource) => void; readonly backoff?: BackoffOptions }): WriteRetries {
  const pending = new Map<TemplateResource, { readonly backoff: Backoff; timer: TimerHandle | undefined }>();
  let stopped = false;
  const clear = (): void => {
    for (const state of pending.values()) state.timer?.cancel();
    pending.clear();
  };
  return {
    after(r, outcome) {
      const entry = pending.get(r);
      entry?.timer?.cancel();
      if (stopped || outcome.kind !== 'write-failed' || !isTransientWriteError(outcome.code)) {
        pending.delete(r);
        return undefined;
      }
      const state = entry ?? { backoff: exponentialBackoff(o.backoff ?? WRITE_RETRY_BACKOFF), timer: undefined };
      pending.set(r, state);
      // The back-off's jitter may not take a delay past its cap.
      const limit = (o.backoff ?? WRITE_RETRY_BACKOFF).maxMs;
      const delay = Math.min(limit, state.backoff.next());
      state.timer = o.clock.setTimer(delay, () => {
        state.timer = undefined;
        o.retry(r);
      });
      return delay;
    },
    clear,
    stop() {
      stopped = true;
      clear();
    },
  };
}
