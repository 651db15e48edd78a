// After start-up work that allocated a lot and keeps little (reading thousands of keys,
// rendering every template, loading gRPC), steward gives the memory back: a full garbage
// collection lets V8 shrink its heap, and malloc_trim returns freed native memory. Without it an
// idle steward keeps the peak of its start-up resident for its whole life (measured: 169 MB
// against 80 MB with 1,000 resources over 10,000 keys). bin/steward starts Node with --expose-gc.
//
// Later, steady periodic work (a health check every second, endpoints scraped every second) has
// V8 collect and compile on its worker threads, and their scratch memory is malloc'd there: glibc
// keeps what they free in per-thread arenas. One major collection left 10 to 14 MB resident that
// malloc_trim gave back at once (docs/benchmarks.md, "Health checks"). So the keeper looks at the
// resident size now and then and trims when it has grown since the last trim.

import { flushCompileCache, getCompileCacheDir } from 'node:module';
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { Libc } from './libc.ts';

export function releaseStartupMemory(libc: Libc): void {
  if (getCompileCacheDir() !== undefined) flushCompileCache();
  const gc = (globalThis as { gc?: (options?: object) => void }).gc;
  // 'last-resort' collects everything it can and compacts, so that V8 can give pages back.
  if (typeof gc === 'function') gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  libc.trimMemory();
}

/** How often the resident size is read (one small read of /proc; a trim costs a few ms). */
export const KEEPER_INTERVAL_MS = 10_000;
/** Growth of the resident size since the last trim that makes the keeper trim again. */
export const KEEPER_GROWTH_BYTES = 2 * 1024 * 1024;

export interface MemoryKeeper {
  stop(): void;
}

export interface MemoryKeeperOptions {
  readonly libc: Pick<Libc, 'trimMemory'>;
  readonly clock: Clock;
  /** The resident size in bytes (process.memoryUsage.rss by default). */
  readonly resident?: () => number;
}

export function keepMemoryTrimmed(o: MemoryKeeperOptions): MemoryKeeper {
  const resident = o.resident ?? (() => process.memoryUsage.rss());
  let floor = resident();
  let timer: TimerHandle | undefined;
  const look = (): void => {
    const now = resident();
    if (now - floor >= KEEPER_GROWTH_BYTES) {
      // Without malloc_trim (musl) there is nothing to do, and nothing to look at again.
      if (!o.libc.trimMemory()) return;
      floor = resident();
    } else if (now < floor) {
      floor = now;
    }
    timer = o.clock.setTimer(KEEPER_INTERVAL_MS, look);
  };
  timer = o.clock.setTimer(KEEPER_INTERVAL_MS, look);
  return {
    stop() {
      timer?.cancel();
      timer = undefined;
    },
  };
}
