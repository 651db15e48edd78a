// The outside world confd's functions read (clock, file system, DNS), created lazily so that
// a template that never asks for the time or a lookup starts no resolver thread.

import { systemClock } from '../go/time.ts';
import type { GoTime } from '../go/time.ts';
import { createSyncResolver } from './dns.ts';
import type { SyncResolver } from './dns.ts';
import { statExists } from './functions.ts';
import type { ConfdContext } from './functions.ts';

export type ConfdWorld = Pick<ConfdContext, 'now' | 'fileExists' | 'dns'> & {
  /** Stops the resolver thread, if one was started. */
  close(): void;
};

/**
 * The real world, with any part replaceable: `now` defaults to time.Now in Go's local zone,
 * `fileExists` to stat (only ENOENT is "missing"), `dns` to a worker-thread resolver.
 */
export function createSystemWorld(
  overrides: { now?: () => GoTime; fileExists?: (path: string) => boolean; dns?: ConfdContext['dns'] } = {},
): ConfdWorld {
  let clock: (() => GoTime) | undefined;
  let resolver: SyncResolver | undefined;
  const getResolver = (): SyncResolver => (resolver ??= createSyncResolver());
  return {
    now: overrides.now ?? (() => (clock ??= systemClock())()),
    fileExists: overrides.fileExists ?? statExists,
    dns: overrides.dns ?? {
      lookupIP: (host) => getResolver().lookupIP(host),
      lookupSRV: (service, proto, name) => getResolver().lookupSRV(service, proto, name),
    },
    close() {
      resolver?.close();
      resolver = undefined;
    },
  };
}
