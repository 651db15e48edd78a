// The etcd client over etcd's v3 JSON gateway (etcd 3.4 and later), in place of the etcd3
// library: gRPC and protobuf cost half of steward's start-up and ~30 MB of memory, for a handful
// of calls that the gateway serves as plain JSON over HTTP.
// - A call goes to the endpoint that answered last and, when the connection fails, to each other
//   endpoint once, at once; steward's callers back off between rounds.
// - With a user name, the client logs in per endpoint (a simple token is only valid on the member
//   that issued it) and sends the token in the Authorization header; when etcd says the token is
//   invalid (expired, or forgotten by a restart) it logs in again and retries once.
// - A watch is one streamed POST with one create request, ended by closing its connection. A
//   stream cannot carry more: once etcd's HTTP server (Go's) starts to answer, it throws away
//   what it has not read of the request yet, so further create requests, even sent at once in
//   the same body, may be lost. So one watcher covers every watched prefix (watch.ts filters).
// - An idle watch stream says nothing, so a frozen or cut-off etcd would go unnoticed; after
//   `keepaliveTimeMs` of silence the client asks the same endpoint for its status, and ends the
//   stream if no answer comes within `keepaliveTimeoutMs` (gRPC's keepalive did this before).

import type { ConnectionSettings } from './connection.ts';
import type { EtcdClient, EtcdDriver, WatchCreate, WatchStreamEvents } from './client.ts';
import { gatewayErrorOf, kvsOf, rangeBody, resultOf, revisionOf, txnBody, txnResultOf, watchCreateBody, watchResponseOf, type Json } from './gateway-json.ts';
import { createTransport, EtcdConnectionError, EtcdServerError, type HttpModule, type Transport } from './gateway-transport.ts';

/** gRPC's UNAVAILABLE: the gateway could not reach its own member, or the member is stopping. */
const UNAVAILABLE = 14;
const UNAUTHENTICATED = 16;
const AUTH_REFUSED = /etcdserver: (user name is empty|user name not found|invalid auth token|permission denied|authentication failed)/;

export async function loadGatewayDriver(settings: ConnectionSettings): Promise<EtcdDriver> {
  const c = settings.credentials;
  // node:https (and TLS) only for https endpoints.
  const module: HttpModule = c === undefined ? await import('node:http') : await import('node:https');
  const agentOptions = c === undefined ? {} : { ca: c.rootCertificate, ...(c.certChain && c.privateKey ? { cert: c.certChain, key: c.privateKey } : {}) };
  return {
    connect: (hosts) => gatewayClient(createTransport(module, agentOptions), hosts, settings),
    isConnectionError: (error) => error instanceof EtcdConnectionError || (error instanceof EtcdServerError && error.code === UNAVAILABLE),
    isLeaseGone: (error) => error instanceof EtcdServerError && error.message.includes('requested lease not found'),
    isAuthFailure: (error) => error instanceof EtcdServerError && (error.code === UNAUTHENTICATED || AUTH_REFUSED.test(error.message)),
  };
}

const isInvalidToken = (error: unknown): boolean => error instanceof EtcdServerError && error.message.includes('invalid auth token');
const isConnectionFailure = (error: unknown): boolean =>
  error instanceof EtcdConnectionError || (error instanceof EtcdServerError && error.code === UNAVAILABLE);

export function gatewayClient(transport: Transport, hosts: readonly string[], s: ConnectionSettings): EtcdClient {
  if (hosts.length === 0) throw new RangeError('an etcd client needs at least one endpoint');
  let preferred = 0;
  const tokens = new Map<number, Promise<string>>();

  const token = (index: number, deadline: number): Promise<string> => {
    const auth = s.auth!;
    let pending = tokens.get(index);
    if (pending === undefined) {
      const body = JSON.stringify({ name: auth.username, password: auth.password });
      pending = transport.post(hosts[index]!, '/v3/auth/authenticate', body, {}, deadline).then((answer) => {
        const t = answer['token'];
        if (typeof t !== 'string' || t === '') throw new EtcdServerError('etcd answered the login without a token', 0);
        return t;
      });
      const mine = pending;
      tokens.set(index, mine);
      mine.catch(() => {
        if (tokens.get(index) === mine) tokens.delete(index);
      });
    }
    return pending;
  };
  const headers = async (index: number, deadline: number): Promise<Record<string, string>> =>
    s.auth === undefined ? {} : { authorization: await token(index, deadline) };

  /** One endpoint; a stale token is replaced once. */
  const onHost = async (index: number, path: string, body: string, deadline: number): Promise<Json> => {
    for (let attempt = 1; ; attempt++) {
      const login = s.auth === undefined ? undefined : token(index, deadline);
      const h: Record<string, string> = login === undefined ? {} : { authorization: await login };
      try {
        return await transport.post(hosts[index]!, path, body, h, deadline);
      } catch (error) {
        if (attempt > 1 || login === undefined || !isInvalidToken(error)) throw error;
        if (tokens.get(index) === login) tokens.delete(index);
      }
    }
  };

  const call = async (path: string, body: unknown, deadline: number): Promise<Json> => {
    const payload = JSON.stringify(body);
    let last: unknown;
    for (let i = 0; i < hosts.length; i++) {
      const index = (preferred + i) % hosts.length;
      try {
        const answer = await onHost(index, path, payload, deadline);
        preferred = index;
        return answer;
      } catch (error) {
        if (!isConnectionFailure(error) || Date.now() >= deadline) throw error;
        last = error;
      }
    }
    throw last;
  };

  return {
    async range(request, deadline) {
      const answer = await call('/v3/kv/range', rangeBody(request), deadline);
      return { revision: revisionOf(answer), kvs: kvsOf(answer) };
    },
    async txn(request, deadline) {
      return txnResultOf(await call('/v3/kv/txn', txnBody(request), deadline));
    },
    async grantLease(ttlSeconds, deadline) {
      const answer = await call('/v3/lease/grant', { TTL: String(ttlSeconds) }, deadline);
      const id = answer['ID'];
      if (typeof id !== 'string' || id === '') throw new EtcdServerError('etcd granted no lease: its answer has no ID', 0);
      return id;
    },
    async keepAliveOnce(leaseId, deadline) {
      // A streamed call: the answer is one {"result": ...} (TTL left out when 0: the lease is gone).
      const answer = await call('/v3/lease/keepalive', { ID: leaseId }, deadline);
      return Number(resultOf(answer)['TTL'] ?? 0);
    },
    async revokeLease(leaseId, deadline) {
      await call('/v3/lease/revoke', { ID: leaseId }, deadline);
    },
    async watch(request, events) {
      const index = preferred;
      return openWatch(transport, hosts[index]!, await headers(index, Date.now() + s.requestTimeoutMs), request, events, s);
    },
    close: () => transport.close(),
  };
}

function openWatch(
  transport: Transport,
  host: string,
  headers: Record<string, string>,
  request: WatchCreate,
  events: WatchStreamEvents,
  s: Pick<ConnectionSettings, 'keepaliveTimeMs' | 'keepaliveTimeoutMs'>,
): { cancel(): void } {
  let done = false;
  let heard = Date.now();
  let probing: NodeJS.Timeout | undefined;
  const finish = (report: () => void): void => {
    if (done) return;
    done = true;
    clearTimeout(probing);
    stop();
    report();
  };
  const body = JSON.stringify(watchCreateBody(request));
  const stop = transport.stream(host, '/v3/watch', body, headers, {
    message(m) {
      heard = Date.now();
      const error = gatewayErrorOf(m);
      if (error !== undefined) finish(() => events.error(new EtcdServerError(error.message, error.code)));
      else events.response(watchResponseOf(resultOf(m)));
    },
    error: (error) => finish(() => events.error(error)),
    end: () => finish(() => events.end()),
  });

  const probe = async (): Promise<void> => {
    if (done) return;
    const silent = Date.now() - heard;
    if (silent < s.keepaliveTimeMs) {
      schedule(s.keepaliveTimeMs - silent);
      return;
    }
    try {
      await transport.post(host, '/v3/maintenance/status', '{}', {}, Date.now() + s.keepaliveTimeoutMs);
      heard = Date.now();
      schedule(s.keepaliveTimeMs);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      finish(() => events.error(new EtcdConnectionError(`etcd did not answer a keepalive probe after ${s.keepaliveTimeMs} ms of silence: ${reason}`)));
    }
  };
  const schedule = (ms: number): void => {
    if (!done) probing = setTimeout(() => void probe(), ms);
  };
  schedule(s.keepaliveTimeMs);

  return {
    cancel: () => finish(() => {}),
  };
}
