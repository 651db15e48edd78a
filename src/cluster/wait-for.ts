// STEWARD_WAIT_FOR: conditions that must hold before the app starts (docker-cluster-controller's
// wait-for-service step). `key:/some/key` exists in the template backend (CONFD_BACKEND),
// `leader:<election>` has a leader, `tcp:host:port` accepts a connection, `healthy:<url>`
// answers 2xx or 3xx and `healthy:host:port` accepts a connection (the probes of health/). A
// line every few seconds names what is still missing; at STEWARD_WAIT_FOR_TIMEOUT steward exits 69.

import type { Settings } from '../config/options.ts';
import { formatDuration } from '../config/values.ts';
import { exponentialBackoff, sleep } from '../core/process-control/backoff.ts';
import { settlesWithin } from '../core/process-control/deadline.ts';
import type { Clock } from '../core/clock.ts';
import { ConfigError, UnavailableError } from '../core/exit-codes.ts';
import type { Logger } from '../core/log.ts';
import type { Part } from '../core/part.ts';
import type { Backend } from '../backends/backend.ts';
import type { Coordinator } from './coordinator.ts';
import { electionScope, leaderKeyOf } from './election.ts';
import { errorText } from '../core/error-text.ts';
import type { CheckResult } from '../health/check.ts';
import { httpProbe } from '../health/http-check.ts';
import { parseHostPort, tcpProbe } from '../health/tcp-check.ts';

export type Condition =
  | { readonly kind: 'key'; readonly key: string; readonly text: string }
  | { readonly kind: 'leader'; readonly election: string; readonly text: string }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number; readonly text: string }
  | { readonly kind: 'http'; readonly url: URL; readonly text: string };

export function parseConditions(items: readonly string[], source: string): Condition[] {
  return items.map((text) => {
    const colon = text.indexOf(':');
    const kind = text.slice(0, colon);
    const rest = text.slice(colon + 1);
    if (colon > 0 && kind === 'key' && rest.startsWith('/')) return { kind, key: rest, text };
    if (colon > 0 && kind === 'leader' && rest !== '') return { kind, election: rest, text };
    if (colon > 0 && (kind === 'tcp' || kind === 'healthy')) {
      const target = parseHostPort(rest);
      if (target !== undefined) return { kind: 'tcp', ...target, text };
    }
    if (colon > 0 && kind === 'healthy' && /^https?:\/\//.test(rest)) {
      try {
        return { kind: 'http', url: new URL(rest), text };
      } catch {
        // Reported below with the accepted forms.
      }
    }
    throw new ConfigError(`${source}: invalid condition ${JSON.stringify(text)} (expected key:/some/key, leader:ELECTION, tcp:HOST:PORT, healthy:URL or healthy:HOST:PORT)`);
  });
}

const REPORT_MS = 5000;

/** A probe's answer timeout while waiting. */
const PROBE_TIMEOUT_MS = 2000;

/** The settings wait-for reads (parts.ts picks them). */
export const WAIT_FOR_SETTINGS = ['waitFor', 'waitForTimeout', 'keyPrefix', 'instanceId', 'electionTtl'] as const;
export type WaitForSettings = Pick<Settings, (typeof WAIT_FOR_SETTINGS)[number]>;

export interface WaitForOptions {
  readonly settings: WaitForSettings;
  /** The store the replicas coordinate through, for `leader:` and `members:` conditions; called once. */
  readonly openCoordinator: () => Promise<Coordinator>;
  readonly log: Logger;
  readonly clock: Clock;
  /** The template backend (CONFD_BACKEND) that `key:` conditions read; called once, when one is checked. */
  readonly openBackend: () => Promise<Backend>;
}

export function createWaitForPart(o: WaitForOptions): Part {
  const { settings, clock } = o;
  const log = o.log.child('wait-for');
  const conditions = parseConditions(settings.waitFor, 'STEWARD_WAIT_FOR');
  const cleanups: (() => Promise<void>)[] = [];
  // One backend and one coordinator for all conditions and all their retries.
  let backendOnce: Promise<Backend> | undefined;
  let coordinatorOnce: Promise<Coordinator> | undefined;
  const sharedBackend = (): Promise<Backend> =>
    (backendOnce ??= o.openBackend().then((b) => {
      cleanups.push(() => b.close());
      return b;
    }));
  const sharedCoordinator = (): Promise<Coordinator> =>
    (coordinatorOnce ??= o.openCoordinator().then((c) => {
      cleanups.push(() => c.close());
      return c;
    }));

  async function waitKey(c: Extract<Condition, { kind: 'key' }>, signal: AbortSignal): Promise<void> {
    const backend = await sharedBackend();
    const backoff = exponentialBackoff({ initialMs: 200, maxMs: 5000 });
    for (;;) {
      try {
        const snapshot = await backend.read([c.key], AbortSignal.any([signal, AbortSignal.timeout(5000)]));
        if (snapshot.values.has(c.key)) return;
        // Wait for a change under the key rather than asking again and again.
        await new Promise<void>((resolve) => {
          const stop = new AbortController();
          const done = (): void => {
            stop.abort();
            resolve();
          };
          signal.addEventListener('abort', done, { once: true });
          backend.watch([c.key], snapshot.cursor, { update: (u) => (u.kind === 'full' || u.set.has(c.key) ? done() : undefined), status: () => {} }, stop.signal);
        });
        backoff.reset();
      } catch {
        if (signal.aborted) return;
        await sleep(backoff.next(), signal).catch(() => {});
      }
      if (signal.aborted) return;
    }
  }

  async function waitLeader(c: Extract<Condition, { kind: 'leader' }>, signal: AbortSignal): Promise<void> {
    const coordinator = await sharedCoordinator();
    const session = await coordinator.openSession({ ttlMs: settings.electionTtl, instanceId: `${settings.instanceId ?? 'steward'}-wait-for` }, signal);
    cleanups.push(() => session.close());
    await new Promise<void>((resolve) => {
      signal.addEventListener('abort', () => resolve(), { once: true });
      session.observe(leaderKeyOf(electionScope(settings.keyPrefix, c.election)), (leader) => (leader !== undefined ? resolve() : undefined), signal);
    });
  }

  async function waitAnswer(probe: () => Promise<CheckResult>, signal: AbortSignal): Promise<void> {
    // A port or a URL has no way to announce itself: it is asked again, with back-off.
    const backoff = exponentialBackoff({ initialMs: 100, maxMs: 2000 });
    while (!signal.aborted) {
      if ((await probe()).ok) return;
      await sleep(backoff.next(), signal).catch(() => {});
    }
  }

  function waitFor(c: Condition, signal: AbortSignal): Promise<void> {
    switch (c.kind) {
      case 'key':
        return waitKey(c, signal);
      case 'leader':
        return waitLeader(c, signal);
      case 'tcp':
        return waitAnswer(() => tcpProbe(c, PROBE_TIMEOUT_MS, signal), signal);
      case 'http':
        return waitAnswer(() => httpProbe(c.url, new Set(), PROBE_TIMEOUT_MS, signal), signal);
    }
  }

  return {
    name: 'wait-for',
    async prepare(abort) {
      const deadline = clock.monotonic() + settings.waitForTimeout;
      const giveUp = new AbortController();
      const signal = AbortSignal.any([abort, giveUp.signal]);
      const pending = new Set(conditions);
      log.info(`waiting for ${conditions.map((c) => c.text).join(', ')}`);
      const all = conditions.map(async (c) => {
        // Only a wait that returns means the condition holds; one that fails (the store cannot
        // be reached) is tried again until the deadline.
        const backoff = exponentialBackoff({ initialMs: 500, maxMs: 5000 });
        while (!signal.aborted) {
          try {
            await waitFor(c, signal);
            if (signal.aborted) return;
            pending.delete(c);
            log.info(`${c.text} holds`);
            return;
          } catch (error) {
            if (signal.aborted) return;
            log.warn(`${c.text}: ${errorText(error)}`);
            await sleep(backoff.next(), signal).catch(() => {});
          }
        }
      });
      const finished = Promise.all(all);
      while (pending.size > 0 && !abort.aborted) {
        const left = deadline - clock.monotonic();
        if (left <= 0) {
          giveUp.abort();
          await finished;
          throw new UnavailableError(`still waiting after ${formatDuration(settings.waitForTimeout)} (STEWARD_WAIT_FOR_TIMEOUT) for: ${[...pending].map((c) => c.text).join(', ')}`);
        }
        await settlesWithin(finished, Math.min(REPORT_MS, left), clock);
        if (pending.size > 0 && clock.monotonic() < deadline) log.info(`still waiting for ${[...pending].map((c) => c.text).join(', ')}`);
      }
      giveUp.abort();
      await finished;
      for (const cleanup of cleanups.splice(0)) await cleanup().catch(() => {});
    },
    async stop() {
      for (const cleanup of cleanups.splice(0)) await cleanup().catch(() => {});
    },
  };
}
