import { EventEmitter } from 'node:events';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { systemClock, type Clock } from '../../../src/core/clock.ts';
import { handleApi, type ApiConfig, type ApiContext, type ApiReply } from './api.ts';
import { BlockingQueries } from './blocking.ts';
import { parseGoDuration } from './duration.ts';
import {
  ConsulStore,
  SERF_CHECK_ID,
  type CheckStatus,
  type Invalidation,
  type KvEntry,
  type SessionBehavior,
  type SessionRecord,
  type StoreChange,
} from './store.ts';
import { VirtualTime } from './virtual-time.ts';
import { ServiceCatalog } from './service-catalog.ts';

export { frozenClock } from './virtual-time.ts';

export type { CheckStatus, Invalidation, KvEntry, SessionBehavior, SessionRecord, StoreChange };

export interface ConsulDoubleTlsOptions {
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
  /** CA that client certificates must chain to (Consul's ca_file). */
  readonly ca?: string | Buffer;
  /** Consul's verify_incoming: the TLS handshake fails without a client certificate from `ca`. */
  readonly requireClientCert?: boolean;
}

export interface ConsulDoubleOptions {
  /** Port to listen on; 0 (default) picks a free one. */
  readonly port?: number;
  /** Consul's session_ttl_min: a Go duration ("250ms") or milliseconds. Default "10s". */
  readonly sessionTtlMin?: string | number;
  /**
   * A TTL session is invalidated `TTL * multiplier` after its last create/renew. Consul's
   * servers use 2 (the documented worst case); 1 gives the documented lower bound.
   */
  readonly sessionTtlMultiplier?: number;
  /** Turns ACLs on with default deny; this becomes the only accepted (management) token. */
  readonly aclToken?: string;
  /** Serve HTTPS instead of HTTP. */
  readonly tls?: ConsulDoubleTlsOptions;
  readonly datacenter?: string;
  /** The agent's node name (default "consul-double"); sessions default to it. */
  readonly nodeName?: string;
  /** Further registered nodes (each with a passing serfHealth check) that sessions may name. */
  readonly extraNodes?: readonly string[];
  /** Time source for TTLs, waits and lock-delays; advanceTime() adds to it. */
  readonly clock?: Clock;
  /** Consul adds up to wait/16 of random extra time to each blocking wait. Default true. */
  readonly blockingJitter?: boolean;
  /** Raft index before the first write (default 10); the first write gets the next one. */
  readonly initialIndex?: number;
  /** Consul's kv_max_value_size (default 512 KiB): larger PUT bodies get 413. */
  readonly kvMaxValueSize?: number;
  /** Reported as Config.Version by /v1/agent/self. */
  readonly version?: string;
}

export interface RecordedRequest {
  /** Position in the log, from 0, also counting entries removed by clearRequests(). */
  readonly seq: number;
  readonly method: string;
  /** Decoded path, e.g. "/v1/kv/app/config". */
  readonly path: string;
  /** Query parameters (first value of each); flags such as ?recurse map to "". */
  readonly query: Readonly<Record<string, string>>;
  readonly rawQuery: string;
  readonly headers: IncomingHttpHeaders;
  /** Arrival time on the double's clock (ms). */
  readonly at: number;
}

export type RequestMatcher = (request: RecordedRequest) => boolean;

export interface ConsulDoubleEvents {
  /** A request arrived (also while paused). */
  request: [RecordedRequest];
  /** A blocking query parked; the argument is how many are parked now. */
  parked: [number];
  /** A parked blocking query left (answered, timed out or abandoned by its client). */
  unparked: [number];
  /** Any state change a blocking query could see. */
  change: [StoreChange];
  /** A session ended: destroyed, expired, invalidated by a check, or expired by a test. */
  'session-invalidated': [Invalidation];
  /** While paused: a request was held before being handled, or its finished reply was held back. */
  held: ['request' | 'reply', RecordedRequest];
}

export interface SessionOptions {
  readonly name?: string;
  readonly node?: string;
  /** Go duration string, as the API takes it ("10s"); '' for no TTL. */
  readonly ttl?: string;
  /** Lock-delay in milliseconds (default 15000). */
  readonly lockDelayMs?: number;
  readonly behavior?: SessionBehavior;
}

export interface WaitOptions {
  /** Reject after this long (real time); default 10 s so a broken test fails with a message. */
  readonly timeoutMs?: number;
}

export interface ConsulDouble {
  /** "http://127.0.0.1:PORT" (or https://). */
  readonly url: string;
  /** "127.0.0.1:PORT", the form CONSUL_HTTP_ADDR takes. */
  readonly address: string;
  readonly port: number;
  readonly events: EventEmitter<ConsulDoubleEvents>;
  stop(): Promise<void>;

  // State, bypassing HTTP (as if another client wrote it).
  put(key: string, value: string | Uint8Array, opts?: { flags?: number | bigint }): KvEntry;
  delete(key: string, opts?: { recurse?: boolean }): void;
  get(key: string): KvEntry | undefined;
  list(prefix?: string): KvEntry[];
  /** Current raft index (the last index a write used). */
  index(): number;
  createSession(opts?: SessionOptions): SessionRecord;
  session(id: string): SessionRecord | undefined;
  sessions(): SessionRecord[];
  /** Lock acquire as another client would do it; false when held elsewhere or in lock-delay. */
  acquire(key: string, sessionId: string, value?: string | Uint8Array): boolean;
  release(key: string, sessionId: string, value?: string | Uint8Array): boolean;
  /** Invalidates a session now, as TTL expiry would; false when it did not exist. */
  expireSession(id: string): boolean;
  /** Changes a node health check; critical (or undefined = deregistered) invalidates sessions using it. */
  setCheck(checkId: string, status: CheckStatus | undefined, node?: string): void;
  /** Moves the double's clock forward, firing TTL expiries and blocking-query timeouts that fall due. */
  advanceTime(ms: number): void;
  /** Agent services and checks (service discovery), bypassing HTTP. */
  readonly catalog: ServiceCatalog;

  // Faults.
  /** Requests (new and already parked) get no answer until resume(), like a partitioned agent. */
  pause(): void;
  resume(): void;
  readonly paused: boolean;
  /** Closes the listener and every connection: clients get connection refused/reset. */
  refuseConnections(): Promise<void>;
  /** Listens again on the same port. */
  acceptConnections(): Promise<void>;
  /** Without a leader, default and ?consistent reads and all writes fail with 500 "No cluster leader". */
  setLeader(present: boolean): void;
  /** Simulates restoring an older snapshot: indexes go back to at most `toIndex`. */
  restoreSnapshot(toIndex: number): void;
  /** Drops KV tombstones, after which a prefix's index can go backwards. */
  reapTombstones(): void;

  // Observation.
  requests(match?: RequestMatcher): RecordedRequest[];
  clearRequests(): void;
  /** Resolves with the first logged request at or after `fromSeq` (default 0) that matches. */
  waitForRequest(match: RequestMatcher, opts?: WaitOptions & { fromSeq?: number }): Promise<RecordedRequest>;
  /** Number of blocking queries currently parked. */
  parkedQueries(): number;
  /** Resolves once at least `count` blocking queries are parked. */
  waitForParked(count: number, opts?: WaitOptions): Promise<void>;
}

const DEFAULT_WAIT_TIMEOUT_MS = 10_000;
const GZIP_MIN_SIZE = 1400;

function toBuffer(value: string | Uint8Array | undefined): Buffer {
  if (value === undefined) return Buffer.alloc(0);
  return typeof value === 'string' ? Buffer.from(value) : Buffer.from(value);
}

function sessionTtlMinNs(value: string | number | undefined): number {
  if (value === undefined) return 10e9;
  if (typeof value === 'number') {
    if (!(value >= 0)) throw new RangeError(`sessionTtlMin must be a non-negative number of ms, got ${value}`);
    return value * 1e6;
  }
  return parseGoDuration(value);
}

/** Starts a Consul HTTP API double on 127.0.0.1. */
export async function startConsulDouble(options: ConsulDoubleOptions = {}): Promise<ConsulDouble> {
  const multiplier = options.sessionTtlMultiplier ?? 2;
  if (!(multiplier > 0)) throw new RangeError(`sessionTtlMultiplier must be > 0, got ${multiplier}`);
  const nodeName = options.nodeName ?? 'consul-double';
  const time = new VirtualTime(options.clock ?? systemClock());
  const events = new EventEmitter<ConsulDoubleEvents>();
  const store = new ConsulStore({
    time,
    initialIndex: options.initialIndex ?? 10,
    sessionTtlMultiplier: multiplier,
    nodes: [nodeName, ...(options.extraNodes ?? [])],
  });
  const blocking = new BlockingQueries(time, store, {
    jitter: options.blockingJitter ?? true,
    onPark: (n) => events.emit('parked', n),
    onUnpark: (n) => events.emit('unparked', n),
  });
  store.subscribe((change) => {
    events.emit('change', change);
    for (const invalidation of change.invalidated) events.emit('session-invalidated', invalidation);
  });

  let leader = true;
  const config: ApiConfig = {
    datacenter: options.datacenter ?? 'dc1',
    nodeName,
    nodeId: randomUUID(),
    aclToken: options.aclToken,
    sessionTtlMinNs: sessionTtlMinNs(options.sessionTtlMin),
    kvMaxValueSize: options.kvMaxValueSize ?? 512 * 1024,
    serverAddress: '127.0.0.1:8300',
    version: options.version ?? '1.21.0',
  };
  const catalog = new ServiceCatalog(store, time);
  const ctx: ApiContext = { config, store, blocking, catalog, hasLeader: () => leader };

  let paused = false;
  const held: (() => void)[] = [];
  const gate = (kind: 'request' | 'reply', record: RecordedRequest, fn: () => void): void => {
    if (!paused) {
      fn();
      return;
    }
    held.push(fn);
    events.emit('held', kind, record);
  };

  const log: RecordedRequest[] = [];
  let seq = 0;
  let firstSeq = 0;

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    // Split the raw target by hand: WHATWG URL parsing would resolve "..", which Go's
    // ServeMux answers with a redirect instead.
    const target = req.url ?? '/';
    const mark = target.indexOf('?');
    const rawQuery = mark === -1 ? '' : target.slice(mark + 1);
    let path: string;
    try {
      path = decodeURIComponent(mark === -1 ? target : target.slice(0, mark));
    } catch {
      res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8', 'Connection': 'close' });
      res.end('400 Bad Request');
      return;
    }
    const query: Record<string, string> = {};
    for (const [name, value] of new URLSearchParams(rawQuery)) if (!(name in query)) query[name] = value;
    const record: RecordedRequest = {
      seq: seq++,
      method: req.method ?? 'GET',
      path,
      query,
      rawQuery,
      headers: req.headers,
      at: time.now(),
    };
    log.push(record);
    events.emit('request', record);

    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      gate('request', record, () => {
        if (res.destroyed) return;
        const abort = new AbortController();
        res.on('close', () => {
          if (!res.writableEnded) abort.abort(new Error('client went away'));
        });
        handleApi(ctx, { method: record.method, path, rawQuery, headers: req.headers, body: Buffer.concat(chunks) }, abort.signal)
          .then((reply) => gate('reply', record, () => writeReply(req, res, reply)))
          .catch(() => {
            if (!res.destroyed) res.destroy();
          });
      });
    });
  };

  const server = options.tls === undefined
    ? http.createServer(onRequest)
    : https.createServer(
        {
          cert: options.tls.cert,
          key: options.tls.key,
          // Go's server sends only cert_file; Node would append the CA from `ca` to the chain,
          // so hand it over only when it is needed to verify clients.
          ...(options.tls.ca === undefined || options.tls.requireClientCert !== true ? {} : { ca: options.tls.ca }),
          requestCert: options.tls.requireClientCert ?? false,
          rejectUnauthorized: options.tls.requireClientCert ?? false,
        },
        onRequest,
      );
  // Blocking queries may hang for 10 minutes; Node must not cut them off on its own.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;

  const listen = (port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      server.once('error', onError);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', onError);
        resolve((server.address() as AddressInfo).port);
      });
    });
  const close = (): Promise<void> =>
    new Promise((resolve) => {
      if (!server.listening) {
        resolve();
        return;
      }
      server.close(() => resolve());
      server.closeAllConnections();
    });

  const port = await listen(options.port ?? 0);
  const scheme = options.tls === undefined ? 'http' : 'https';

  const waitFor = <T>(
    description: string,
    check: () => T | undefined,
    subscribe: (retry: () => void) => () => void,
    opts: WaitOptions | undefined,
  ): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const now = check();
      if (now !== undefined) {
        resolve(now);
        return;
      }
      const timeoutMs = opts?.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS;
      const unsubscribe = subscribe(() => {
        const found = check();
        if (found === undefined) return;
        clearTimeout(timer);
        unsubscribe();
        resolve(found);
      });
      const timer = setTimeout(() => {
        unsubscribe();
        reject(new Error(`consul double: ${description} did not happen within ${timeoutMs} ms`));
      }, timeoutMs);
    });

  const double: ConsulDouble = {
    url: `${scheme}://127.0.0.1:${port}`,
    address: `127.0.0.1:${port}`,
    port,
    events,
    async stop() {
      paused = false;
      held.length = 0;
      await close();
      time.cancelAll();
      catalog.stop();
      store.stop();
      events.removeAllListeners();
    },

    put(key, value, opts) {
      store.kvSet(key, toBuffer(value), BigInt(opts?.flags ?? 0));
      return store.kvGet(key) as KvEntry;
    },
    delete(key, opts) {
      if (opts?.recurse === true) store.kvDeleteTree(key);
      else store.kvDelete(key);
    },
    get: (key) => store.kvGet(key),
    list: (prefix = '') => store.kvList(prefix).entries,
    index: () => store.raftIndex,
    createSession(opts = {}) {
      return store.sessionCreate({
        name: opts.name ?? '',
        node: opts.node ?? nodeName,
        lockDelayNs: (opts.lockDelayMs ?? 15_000) * 1e6,
        behavior: opts.behavior ?? 'release',
        ttl: opts.ttl ?? '',
        nodeChecks: [SERF_CHECK_ID],
        serviceChecks: null,
        checks: null,
      });
    },
    session: (id) => store.session(id),
    sessions: () => store.sessionList(),
    acquire: (key, sessionId, value) => store.kvLock(key, toBuffer(value), 0n, sessionId),
    release: (key, sessionId, value) => store.kvUnlock(key, toBuffer(value), 0n, sessionId),
    expireSession: (id) => store.sessionDestroy(id, 'control'),
    setCheck: (checkId, status, node = nodeName) => store.setCheck(node, checkId, status),
    advanceTime: (ms) => time.advance(ms),
    catalog,

    pause() {
      paused = true;
    },
    resume() {
      paused = false;
      for (const fn of held.splice(0)) fn();
    },
    get paused() {
      return paused;
    },
    refuseConnections: close,
    async acceptConnections() {
      if (!server.listening) await listen(port);
    },
    setLeader(present) {
      leader = present;
      store.setTimersRunning(present);
    },
    restoreSnapshot: (toIndex) => store.restoreSnapshot(toIndex),
    reapTombstones: () => store.reapTombstones(),

    requests: (match) => (match === undefined ? [...log] : log.filter(match)),
    clearRequests() {
      firstSeq = seq;
      log.length = 0;
    },
    waitForRequest(match, opts) {
      const fromSeq = opts?.fromSeq ?? 0;
      return waitFor(
        'a matching request',
        () => log.find((r) => r.seq >= Math.max(fromSeq, firstSeq) && match(r)),
        (retry) => {
          events.on('request', retry);
          return () => events.off('request', retry);
        },
        opts,
      );
    },
    parkedQueries: () => blocking.parkedCount,
    async waitForParked(count, opts) {
      await waitFor(
        `${count} parked blocking queries`,
        () => (blocking.parkedCount >= count ? true : undefined),
        (retry) => {
          events.on('parked', retry);
          return () => events.off('parked', retry);
        },
        opts,
      );
    },
  };
  return double;
}

function writeReply(req: IncomingMessage, res: ServerResponse, reply: ApiReply): void {
  if (res.destroyed || res.writableEnded) return;
  const headers: Record<string, string> = { ...reply.headers };
  let body = reply.body;
  // Consul wraps its handlers in gziphandler: compress when accepted and big enough.
  const accepts = String(req.headers['accept-encoding'] ?? '');
  if (body.length >= GZIP_MIN_SIZE && /\bgzip\b/.test(accepts)) {
    body = gzipSync(body);
    headers['Content-Encoding'] = 'gzip';
  }
  headers['Content-Length'] = String(body.length);
  res.writeHead(reply.status, headers);
  res.end(body);
}
