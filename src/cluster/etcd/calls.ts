// Every etcd call the coordinator makes goes through a Caller: it has a deadline both in the
// client's request and in JavaScript (a login before the request has a deadline of its own), and
// it replaces a client whose connection failed, so that the next call starts on fresh
// connections (and, with auth, a fresh login).

import { DeadlineError, within } from '../../core/process-control/deadline.ts';
import { messageOf, type EtcdClient, type EtcdDriver } from '../../stores/etcd/client.ts';

export interface Caller {
  /**
   * Runs `fn` on this caller's client; `deadline` (epoch ms) is for the client's call. Rejects
   * with an error naming `what` at the deadline, and with the signal's reason as soon as
   * `signal` aborts.
   */
  call<T>(what: string, fn: (client: EtcdClient, deadline: number) => Promise<T>, signal: AbortSignal, timeoutMs?: number): Promise<T>;
  /** Closes every client now; calls in flight fail. */
  close(): void;
}

interface Held {
  readonly client: EtcdClient;
  inFlight: number;
  retired: boolean;
}

/**
 * `retireOnAnyError`: replace the client after any failure, not only a connection's. For a
 * caller of streams: the client logs in again after "invalid auth token" (an expired JWT, a token
 * etcd forgot) for unary calls only; a fresh client logs in afresh.
 */
export function createCaller(etcd: EtcdDriver, newClient: () => EtcdClient, source: string, requestTimeoutMs: number, retireOnAnyError = false): Caller {
  const all = new Set<Held>();
  let current: Held | undefined;
  let closed = false;

  const release = (held: Held, error: unknown): void => {
    held.inFlight--;
    if (error !== undefined && (retireOnAnyError || isConnectionError(etcd, error)) && !held.retired) {
      // Later calls get a fresh connection at once; this one goes when its last call is done.
      held.retired = true;
      if (current === held) current = undefined;
    }
    if (held.retired && held.inFlight === 0) {
      all.delete(held);
      held.client.close();
    }
  };

  return {
    async call(what, fn, signal, timeoutMs = requestTimeoutMs) {
      if (signal.aborted) throw signal.reason;
      if (closed) throw new Error(`cannot ${what}: the etcd coordinator is closed`);
      if (current === undefined) {
        current = { client: newClient(), inFlight: 0, retired: false };
        all.add(current);
      }
      const held = current;
      held.inFlight++;
      const deadline = Date.now() + timeoutMs;
      let failure: unknown;
      try {
        return await within(fn(held.client, deadline), timeoutMs, signal, `no answer within ${timeoutMs} ms`);
      } catch (error) {
        failure = error;
        if (signal.aborted && error === signal.reason) throw error;
        throw new Error(`etcd at ${source}: cannot ${what}: ${messageOf(error)}`, { cause: error });
      } finally {
        release(held, failure);
      }
    },
    close() {
      closed = true;
      current = undefined;
      for (const held of all) held.client.close();
      all.clear();
    },
  };
}

/** The error (or its cause) says the connection, not etcd's answer, failed: retrying may help. */
export function isTransient(etcd: EtcdDriver, error: unknown): boolean {
  return isConnectionError(etcd, error instanceof Error && error.cause !== undefined ? error.cause : error);
}

function isConnectionError(etcd: EtcdDriver, error: unknown): boolean {
  return error instanceof DeadlineError || etcd.isConnectionError(error);
}

/** etcd answered that the lease does not exist (revoked, or expired). */
export function isLeaseGone(etcd: EtcdDriver, error: unknown): boolean {
  return etcd.isLeaseGone(error instanceof Error && error.cause !== undefined ? error.cause : error);
}
