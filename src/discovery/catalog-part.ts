// The catalog part: the service catalog templates read through `service` and `services`. It
// reads the whole catalog before the templates' first render (it comes before them in the
// parts' order), then follows the store's watch; each change is 'catalog.changed' on the bus,
// on which the templates part renders again the resources whose templates call these functions
// (after each one's quiescence). A store that cannot be read at start-up leaves the catalog
// empty and is tried again in the background.

import type { Bus } from '../core/bus.ts';
import type { Clock } from '../core/clock.ts';
import { errorText } from '../core/error-text.ts';
import { ConfigError } from '../core/exit-codes.ts';
import type { Logger } from '../core/log.ts';
import type { Part } from '../core/part.ts';
import { pause } from '../core/process-control/clock-waits.ts';
import { exponentialBackoff } from '../core/process-control/backoff.ts';
import type { ExtraFunctions } from '../render/index.ts';
import type { Catalog } from './catalog.ts';
import { discoveryFunctions, type CatalogSnapshot } from './functions.ts';

export interface CatalogPartOptions {
  readonly openCatalog: () => Promise<Catalog>;
  readonly bus: Bus;
  readonly log: Logger;
  readonly clock: Clock;
}

export interface CatalogPart extends Part {
  readonly extras: ExtraFunctions;
}

const EMPTY: CatalogSnapshot = { instances: () => [], services: () => [] };

export function createCatalogPart(o: CatalogPartOptions): CatalogPart {
  const log = o.log.child('discovery');
  const stopping = new AbortController();
  let catalog: Catalog | undefined;
  let current: CatalogSnapshot = EMPTY;
  const view: CatalogSnapshot = { instances: (name) => current.instances(name), services: () => current.services() };

  async function start(abort: AbortSignal): Promise<void> {
    const c = catalog ?? (catalog = await o.openCatalog());
    const signal = AbortSignal.any([abort, stopping.signal]);
    let live = false;
    await c.start(() => {
      if (live) o.bus.emit('catalog.changed', { where: c.where });
    }, signal);
    live = true;
    current = c;
    log.info(`service catalog read from ${c.where}`, { services: c.services().length });
  }

  async function retry(): Promise<void> {
    const backoff = exponentialBackoff({ initialMs: 1000, maxMs: 30_000, factor: 2, jitter: 0.2 });
    while (!stopping.signal.aborted) {
      await pause(o.clock, backoff.next(), stopping.signal);
      if (stopping.signal.aborted) return;
      try {
        await start(stopping.signal);
        o.bus.emit('catalog.changed', { where: catalog?.where ?? '' });
        return;
      } catch (error) {
        log.debug(`service catalog still unreadable: ${errorText(error)}`);
      }
    }
  }

  return {
    name: 'catalog',
    extras: discoveryFunctions(view),
    async prepare(abort) {
      try {
        await start(abort);
      } catch (error) {
        if (abort.aborted || error instanceof ConfigError) throw error;
        log.warn(`cannot read the service catalog: ${errorText(error)}; templates see no services until it can be read`);
        void retry();
      }
    },
    async stop() {
      stopping.abort();
      await catalog?.close();
    },
  };
}
