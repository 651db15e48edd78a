// The one queue that renders template resources, at start-up and for live changes alike. A
// resource is "due" when it must render; due resources render in the order they became due,
// never two renders of the same resource at once (one that becomes due while it renders renders
// again afterwards, so a change during a render is never lost). The two phases differ in two
// settings only (before either, nothing renders: the first render reads the newest values anyway):
// - starting: a change makes a resource due at once, and one resource renders at a time, so
//   that files, --noop reports and the first error come in the resources' order;
// - live: a change makes a resource due after its quiescence (quiescence.ts), and resources
//   render side by side, so that one slow check_cmd does not hold back the others.

import type { Wait } from '../config/values.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/log.ts';
import type { ResourceOutcome } from './pipeline.ts';
import { createQuiescence, type Quiescence } from './quiescence.ts';
import type { TemplateResource } from './resource.ts';

export interface RenderQueueOptions {
  readonly resources: readonly TemplateResource[];
  readonly clock: Clock;
  readonly log: Logger;
  /** A resource's quiescence once live. */
  readonly waitOf: (resource: TemplateResource) => Wait;
  /** Renders one resource; a failure is an outcome, not a rejection. */
  readonly render: (resource: TemplateResource) => Promise<ResourceOutcome>;
  /** Hears every outcome before the resource may render again. */
  readonly onOutcome: (resource: TemplateResource, outcome: ResourceOutcome) => Promise<void> | void;
  /** What was due will not render after all (`clear`, `replace`, `stop`). */
  readonly onClear?: () => void;
}

export interface RenderQueue {
  /** The resources it renders (replaced by --watch-templates). */
  readonly resources: readonly TemplateResource[];
  readonly phase: 'waiting' | 'starting' | 'live';
  /** The last outcome of `resource`, if it has rendered. */
  outcome(resource: TemplateResource): ResourceOutcome | undefined;
  /** Something `resource` reads changed: it becomes due (after its quiescence, once live). */
  changed(resource: TemplateResource): void;
  /** Starting: every resource becomes due at once. */
  start(): void;
  /** `resource` becomes due at once, whatever the phase. */
  now(resource: TemplateResource): void;
  /** From now on changes wait for quiescence and resources render side by side. */
  goLive(): void;
  /** Resolves once nothing is due or rendering (a quiescence under way does not count). */
  idle(): Promise<void>;
  /** Forgets what is due and every quiescence under way; renders under way finish. */
  clear(): void;
  /** Renders `next` from now on, once the renders under way are over (never two generations at once). */
  replace(next: readonly TemplateResource[]): Promise<void>;
  /** Renders nothing more. */
  stop(): void;
}

export function createRenderQueue(o: RenderQueueOptions): RenderQueue {
  let resources: readonly TemplateResource[] = [...o.resources];
  let phase: RenderQueue['phase'] = 'waiting';
  let stopped = false;
  const due = new Set<TemplateResource>();
  const rendering = new Set<TemplateResource>();
  const quiet = new Map<TemplateResource, Quiescence>();
  const outcomes = new Map<TemplateResource, ResourceOutcome>();
  const idleWaiters: (() => void)[] = [];

  function makeDue(r: TemplateResource): void {
    if (stopped) return;
    due.add(r);
    pump();
  }

  function pump(): void {
    for (const r of due) {
      if (rendering.size >= (phase === 'live' ? Number.POSITIVE_INFINITY : 1)) break;
      if (rendering.has(r)) continue;
      due.delete(r);
      rendering.add(r);
      void renderOne(r);
    }
    if (due.size === 0 && rendering.size === 0) for (const wake of idleWaiters.splice(0)) wake();
  }

  async function renderOne(r: TemplateResource): Promise<void> {
    try {
      // Not before pump's loop is over: a render that settles at once must not re-enter it.
      await Promise.resolve();
      const outcome = await o.render(r);
      outcomes.set(r, outcome);
      await o.onOutcome(r, outcome);
    } catch (error) {
      o.log.error('render failed unexpectedly; keeping the last files', { resource: r.name, error: String(error) });
    } finally {
      rendering.delete(r);
      pump();
    }
  }

  function quiescenceOf(r: TemplateResource): Quiescence {
    let q = quiet.get(r);
    if (q === undefined) {
      q = createQuiescence(o.waitOf(r), o.clock, () => makeDue(r));
      quiet.set(r, q);
    }
    return q;
  }

  function idle(): Promise<void> {
    if (due.size === 0 && rendering.size === 0) return Promise.resolve();
    return new Promise((resolve) => idleWaiters.push(resolve));
  }

  function clear(): void {
    due.clear();
    for (const q of quiet.values()) q.cancel();
    o.onClear?.();
    pump();
  }

  return {
    get resources() {
      return resources;
    },
    get phase() {
      return phase;
    },
    outcome: (r) => outcomes.get(r),
    changed(r) {
      if (stopped || phase === 'waiting') return;
      if (phase === 'live') quiescenceOf(r).trigger();
      else makeDue(r);
    },
    start() {
      phase = 'starting';
      for (const r of resources) makeDue(r);
    },
    now: makeDue,
    goLive() {
      phase = 'live';
      pump();
    },
    idle,
    clear,
    async replace(next) {
      clear();
      await idle();
      quiet.clear();
      outcomes.clear();
      resources = [...next];
    },
    stop() {
      stopped = true;
      clear();
    },
  };
}
