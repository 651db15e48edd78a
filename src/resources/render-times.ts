// The resource.rendered event, which the status board and the metrics read: how long each render
// took, its outcome, and the watch latency: from the key change that made the resource due to its
// file installed.

import type { Bus } from '../core/bus.ts';
import type { Clock } from '../core/clock.ts';
import type { ResourceOutcome } from './pipeline.ts';
import type { TemplateResource } from './resource.ts';

export interface RenderTimes {
  /** A key change made `resource` due (the first change since its last render counts). */
  changed(resource: TemplateResource): void;
  /** Runs `render` for `resource` and announces its outcome. */
  timed(resource: TemplateResource, render: () => Promise<ResourceOutcome>): Promise<ResourceOutcome>;
}

export function createRenderTimes(clock: Clock, bus: Bus): RenderTimes {
  const changedAt = new Map<TemplateResource, number>();
  return {
    changed(r) {
      if (!changedAt.has(r)) changedAt.set(r, clock.monotonic());
    },
    async timed(r, render) {
      const started = clock.monotonic();
      const since = changedAt.get(r);
      changedAt.delete(r);
      const outcome = await render();
      const now = clock.monotonic();
      bus.emit('resource.rendered', {
        resource: r.name,
        dest: r.dest,
        outcome: outcome.kind,
        error: failureOf(outcome),
        durationMs: now - started,
        watchLatencyMs: outcome.kind === 'written' && since !== undefined ? now - since : undefined,
      });
      return outcome;
    },
  };
}

function failureOf(outcome: ResourceOutcome): string | undefined {
  switch (outcome.kind) {
    case 'missing-key':
    case 'render-failed':
    case 'check-failed':
    case 'write-failed':
      return outcome.message;
    default:
      return undefined;
  }
}
