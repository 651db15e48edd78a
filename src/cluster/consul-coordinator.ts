// The Coordinator for Consul: a session renewed by steward, with KV acquire/release
// (developer.hashicorp.com/consul/api-docs/session, .../api-docs/kv, and the "Application
// leader election with sessions" guide).
//
// Why the session looks the way it does:
// - One session per replica holds both the election lock and the member record. Two sessions
//   (Behavior release for the lock, delete for the records) would double the renewals and give
//   two ways to be lost; and the single session cannot use Behavior delete, because deleting
//   the election key when its holder's session ends would reset its LockIndex (a re-created key
//   starts at 1) and the fencing token would go backwards on exactly the fail-over it guards.
//   So: Behavior release. Member records are taken with ?acquire too, which is precisely
//   "create if absent, or ours": a live holder gets `false` (a duplicate instance id), a
//   record whose session ended is released and is taken over. A released record stays in the
//   store; watchPrefix treats a key without a Session as gone, and close() deletes its own
//   records (a replica that crashed leaves one released record per instance id behind, reused
//   when that id registers again).
// - No health checks ("Checks": []): Consul's default binds a session to the agent node's
//   serfHealth check, which could end it at any moment, not only TTL after the last renewal.
//   steward's fence deadline (last renewal sent + TTL - margin) is only sound if nothing but
//   the TTL (or an explicit destroy) ends the session; it also lets the session outlive the
//   agent it was created on, when steward fails over to another agent from CONFD_NODE.
// - A short LockDelay (default 1 s; Consul's default is 15 s). Lock-delay keeps a lock from
//   being taken again for a while after its holder's session was invalidated, against a
//   leader that lost its session but keeps acting. steward's leader fences itself before its
//   TTL can run out (Consul invalidates no earlier than TTL after the last renewal it got), so
//   on a TTL expiry the delay only adds to fail-over time, already up to 2 x TTL. What it
//   still narrows is the one early end left: an operator destroying the session. Its leader
//   learns that at the next renewal (404), up to TTL/3 later; a LockDelay of TTL/3 would
//   close that window, at the price of slower fail-over on every crash. Release (resign,
//   close) starts no lock-delay at all.
// - TTL as given (Consul accepts 10s to 24h, less only with session_ttl_min). A renewal may
//   answer with a longer TTL under load; steward keeps renewing every TTL/3 of its own TTL,
//   since its fence deadline is computed from that one.

import type { BackoffOptions } from '../core/process-control/backoff.ts';
import type { Clock } from '../core/clock.ts';
import { consulConnection, type ConsulOptions } from '../stores/consul/connection.ts';
import type { Coordinator, Session, SessionOptions } from './coordinator.ts';
import { ConsulApi } from './consul/api.ts';
import { ConsulSession } from './consul/session.ts';
import { errorText } from '../core/error-text.ts';

export type ConsulCoordinatorOptions = ConsulOptions;

export interface ConsulCoordinatorTuning {
  /** LockDelay of steward's sessions (default 1000 ms; 0 turns it off). */
  readonly lockDelayMs?: number;
  /** Wait of each blocking query (default 60 s): a silently dead connection is noticed after it. */
  readonly waitMs?: number;
  /** Deadline of a plain request to one agent, and the margin on a blocking one (default 5 s). */
  readonly requestTimeoutMs?: number;
  /** Delays between attempts while no agent answers (default 200 ms growing to 5 s). */
  readonly backoff?: BackoffOptions;
}

const DEFAULT_LOCK_DELAY_MS = 1_000;
const DEFAULT_WAIT_MS = 60_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;
const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 200, maxMs: 5_000 };

export function createConsulCoordinator(
  options: ConsulCoordinatorOptions,
  clock: Clock,
  tuning: ConsulCoordinatorTuning = {},
): Coordinator {
  const connection = consulConnection(options, {
    requestTimeoutMs: tuning.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    waitMs: tuning.waitMs ?? DEFAULT_WAIT_MS,
  });
  const api = new ConsulApi(connection);
  const lockDelayMs = tuning.lockDelayMs ?? DEFAULT_LOCK_DELAY_MS;
  const backoff = tuning.backoff ?? DEFAULT_BACKOFF;
  const closing = new AbortController();
  const sessions = new Set<ConsulSession>();

  return {
    name: 'consul',
    source: connection.source,

    async openSession(session: SessionOptions, signal: AbortSignal): Promise<Session> {
      if (!(session.ttlMs > 0) || !Number.isFinite(session.ttlMs)) {
        throw new RangeError(`Consul session TTL: ${session.ttlMs} ms; expected a positive number of milliseconds (Consul accepts 10s to 24h)`);
      }
      if (closing.signal.aborted) throw new Error('the Consul coordinator is closed');
      const createdAt = clock.monotonic();
      let id: string;
      try {
        id = await api.createSession(
          { name: `steward ${session.instanceId}`, ttlMs: session.ttlMs, lockDelayMs },
          AbortSignal.any([signal, closing.signal]),
        );
      } catch (error) {
        signal.throwIfAborted();
        throw new Error(`cannot create a Consul session for ${session.instanceId}: ${errorText(error)}`, { cause: error });
      }
      const opened: ConsulSession = new ConsulSession(api, clock, {
        id,
        ttlMs: session.ttlMs,
        lockDelayMs,
        createdAt,
        backoff,
        onClosed: () => sessions.delete(opened),
      });
      sessions.add(opened);
      if (closing.signal.aborted) {
        await opened.close();
        throw new Error('the Consul coordinator was closed while the session was being created');
      }
      return opened;
    },

    async close(): Promise<void> {
      closing.abort();
      await Promise.allSettled([...sessions].map((s) => s.close()));
      await connection.close();
    },
  };
}
