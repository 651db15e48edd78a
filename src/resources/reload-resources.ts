// --watch-templates: new or edited resources and templates are loaded and everything renders
// again; a resource that cannot be loaded is reported and the previous set kept. Reloads run
// one at a time, and only once the renders of the previous set are over, so that two
// generations of a resource never write the same file at once.

import type { Logger } from '../core/log.ts';
import type { KeyFeed } from './key-feed.ts';
import type { RenderQueue } from './render-queue.ts';
import type { TemplateResource } from './resource.ts';
import { errorText } from '../core/error-text.ts';

export interface ResourceReloadOptions {
  /** Loads the resources again; throws a ConfigError when one is unusable. */
  readonly load: () => readonly TemplateResource[];
  /** Compiles a resource's template; throws when it cannot. */
  readonly compile: (resource: TemplateResource) => Promise<unknown>;
  readonly queue: RenderQueue;
  readonly feed: KeyFeed;
  readonly log: Logger;
  /** Aborts when steward stops: no reload starts after that. */
  readonly stopped: AbortSignal;
}

/** The keys a set of resources reads, sorted and without duplicates. */
export function keysOf(resources: readonly TemplateResource[]): string[] {
  return [...new Set(resources.flatMap((r) => r.backendKeys))].sort();
}

/** Returns what to call on each burst of edits under the confdir. */
export function resourceReloader(o: ResourceReloadOptions): () => void {
  let reloading: Promise<void> = Promise.resolve();

  async function reload(): Promise<void> {
    if (o.stopped.aborted) return;
    let next: readonly TemplateResource[];
    try {
      next = o.load();
      for (const r of next) await o.compile(r);
    } catch (error) {
      o.log.error('template resources changed but cannot be used; keeping the previous ones', { error: errorText(error) });
      return;
    }
    o.queue.clear();
    await o.queue.idle();
    try {
      await o.feed.rekey(keysOf(next));
    } catch (error) {
      o.log.error('cannot read the keys of the changed resources; keeping the previous ones', { error: String(error) });
      return;
    }
    await o.queue.replace(next);
    o.log.info(`template resources reloaded: ${next.length}`);
    for (const r of next) o.queue.changed(r);
  }

  return () => {
    reloading = reloading.then(reload, (error: unknown) => o.log.error('reloading template resources failed', { error: String(error) }));
  };
}
