// The etcd client over the npm etcd3 library (gRPC): the one file that knows etcd3. It builds
// clients with the connection's settings, works around etcd3's defects, and turns steward's
// requests (client.ts) into etcd3's and its answers back. etcd3 is imported on first use.

import type { Etcd3, ICompare, IKeyValue, IOptions, IRangeRequest, IRequestOp, IWatchResponse } from 'etcd3';
import type { ConnectionSettings } from './connection.ts';
import type { Compare, EtcdClient, EtcdDriver, KeyValue, Operation, RangeRequest, WatchResponse } from './client.ts';
import { prefixRange } from './keys.ts';

type Etcd3Module = typeof import('etcd3');

export function loadEtcd3(): Promise<Etcd3Module> {
  return import('etcd3');
}

export async function loadEtcd3Driver(settings: ConnectionSettings): Promise<EtcdDriver> {
  const etcd = await loadEtcd3();
  return {
    connect: (hosts) => adapt(etcd, createClient(etcd, hosts, settings)),
    isConnectionError: (error) => error instanceof Error && (etcd.isRecoverableError(error) || error instanceof etcd.ClientRuntimeError),
    isLeaseGone: (error) => error instanceof etcd.EtcdLeaseInvalidError || (error instanceof Error && error.message.includes('requested lease not found')),
    isAuthFailure: (error) =>
      error instanceof etcd.EtcdAuthenticationFailedError ||
      error instanceof etcd.EtcdInvalidAuthTokenError ||
      error instanceof etcd.EtcdPermissionDeniedError ||
      error instanceof etcd.GRPCUnauthenticatedError ||
      // etcd3 maps no class to these.
      (error instanceof Error && /etcdserver: (user name is empty|user name not found|invalid auth token|permission denied|authentication failed)/.test(error.message)),
  };
}

type Policy = ReturnType<NonNullable<NonNullable<IOptions['faultHandling']>['host']>>;

/**
 * An etcd3 client for `hosts`. A call that fails on one endpoint for a network reason is tried
 * on the next one, each endpoint once, at once.
 */
function createClient(etcd: Etcd3Module, hosts: readonly string[], c: ConnectionSettings): Etcd3 {
  const options: IOptions = {
    hosts: [...hosts],
    ...(c.credentials ? { credentials: { ...c.credentials } } : {}),
    grpcOptions: {
      // Without keepalive a connection to a frozen or partitioned etcd stays "up" forever and a
      // watch on it silently delivers nothing. etcd refuses pings more often than its
      // --grpc-keepalive-min-time (5 s by default) with GOAWAY.
      'grpc.keepalive_time_ms': c.keepaliveTimeMs,
      'grpc.keepalive_timeout_ms': c.keepaliveTimeoutMs,
      // gRPC's default 4 MiB receive limit would fail reads of large prefixes; etcd has none.
      'grpc.max_receive_message_length': -1,
      // gRPC shares connections between channels process-wide: a new client would inherit one
      // still backing off from an outage instead of connecting at once.
      'grpc.use_local_subchannel_pool': 1,
    },
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + c.requestTimeoutMs }),
    faultHandling: {
      // etcd3's default per-endpoint circuit breaker keeps refusing calls for 5 s after three
      // failures, which delays recovery after an etcd restart; steward's callers back off.
      host: () => passThrough(),
      // etcd3's default retries 3 times whatever the number of endpoints.
      global: failOver(hosts.length, etcd.isRecoverableError),
    },
  };
  if (c.auth === undefined) return new etcd.Etcd3(options);
  const client = new etcd.Etcd3({ ...options, auth: { ...c.auth } });
  loginThrough(client, new etcd.Etcd3(options));
  return client;
}

interface Etcd3Internals {
  readonly pool?: {
    readonly authenticator?: {
      getCredentialsFromHost?: (host: string, name: string, password: string, callOptions: unknown) => Promise<string>;
    };
  };
}

/**
 * etcd3 defect: each login builds a new gRPC client without the channel options (no keepalive,
 * the process-wide connection, which may still be backing off after an outage, so logins fail
 * fast long after etcd is back) and never closes it (one leaked channel per login). Logins go
 * through `login`, an unauthenticated client of the same endpoints, closed with `client`.
 */
function loginThrough(client: Etcd3, login: Etcd3): void {
  const authenticator = (client as unknown as Etcd3Internals).pool?.authenticator;
  if (typeof authenticator?.getCredentialsFromHost !== 'function') {
    // Another etcd3 version: keep its own login.
    login.close();
    return;
  }
  authenticator.getCredentialsFromHost = async (_host, name, password, callOptions) =>
    (await login.auth.authenticate({ name, password }, callOptions as Parameters<Etcd3['auth']['authenticate']>[1])).token;
  const close = client.close.bind(client);
  client.close = () => {
    close();
    login.close();
  };
}

function policy(execute: Policy['execute']): Policy {
  const noListeners = (): { dispose(): void } => ({ dispose() {} });
  return { _altReturn: undefined as never, onSuccess: noListeners, onFailure: noListeners, execute };
}

function passThrough(): Policy {
  return policy(async (fn, signal) => fn({ signal: signal ?? new AbortController().signal }));
}

function failOver(attempts: number, isRecoverable: (error: Error) => boolean): Policy {
  return policy(async (fn, signal) => {
    let lastError: unknown;
    for (let i = 0; i < attempts; i++) {
      try {
        return await fn({ signal: signal ?? new AbortController().signal });
      } catch (error) {
        if (!(error instanceof Error) || !isRecoverable(error)) throw error;
        lastError = error;
      }
    }
    throw lastError;
  });
}

/** steward's calls on an etcd3 client. */
function adapt(etcd: Etcd3Module, client: Etcd3): EtcdClient {
  const range = (r: RangeRequest): IRangeRequest => ({
    ...(r.prefix === true ? prefixRange(r.key) : { key: Buffer.from(r.key) }),
    ...(r.revision === undefined ? {} : { revision: r.revision }),
    ...(r.sortByCreate === undefined
      ? {}
      : { sort_target: etcd.SortTarget.Create, sort_order: r.sortByCreate === 'ascend' ? etcd.SortOrder.Ascend : etcd.SortOrder.Descend }),
    ...(r.maxCreateRevision === undefined ? {} : { max_create_revision: r.maxCreateRevision }),
    ...(r.limit === undefined ? {} : { limit: r.limit }),
  });
  const compare = (c: Compare): ICompare =>
    'lease' in c
      ? { key: Buffer.from(c.key), target: etcd.CompareTarget.Lease, result: etcd.CompareResult.Equal, lease: c.lease }
      : { key: Buffer.from(c.key), target: etcd.CompareTarget.Create, result: etcd.CompareResult.Equal, create_revision: c.createRevision };
  const operation = (op: Operation): IRequestOp =>
    'range' in op
      ? { request_range: range(op.range) }
      : 'put' in op
        ? { request_put: { key: Buffer.from(op.put.key), value: Buffer.from(op.put.value), lease: op.put.lease } }
        : { request_delete_range: { key: Buffer.from(op.delete) } };

  return {
    async range(request, deadline) {
      const res = await client.kv.range(range(request), { deadline });
      return { revision: Number(res.header.revision), kvs: res.kvs.map(keyValue) };
    },
    async txn(request, deadline) {
      const res = await client.kv.txn(
        { compare: request.compare.map(compare), success: request.success.map(operation), failure: request.failure.map(operation) },
        { deadline },
      );
      return {
        succeeded: res.succeeded,
        revision: Number(res.header.revision),
        responses: res.responses.map((op) => ({ kvs: op.response_range?.kvs.map(keyValue) ?? [] })),
      };
    },
    async grantLease(ttlSeconds, deadline) {
      return (await client.leaseClient.leaseGrant({ TTL: ttlSeconds }, { deadline })).ID;
    },
    keepAliveOnce: (leaseId, deadline) => keepAliveOnce(client, leaseId, deadline),
    async revokeLease(leaseId, deadline) {
      await client.leaseClient.leaseRevoke({ ID: leaseId }, { deadline });
    },
    async watch(events) {
      const stream = await client.watchClient.watch();
      stream.on('error', (error: Error) => events.error(error));
      stream.on('end', () => events.end());
      stream.on('data', (res: IWatchResponse) => events.response(watchResponse(res)));
      return {
        create(request) {
          const { key, range_end } = prefixRange(request.prefix);
          stream.write({ create_request: { key, range_end, start_revision: request.startRevision, progress_notify: true } });
        },
        cancel: () => stream.cancel(),
      };
    },
    close: () => client.close(),
  };
}

function keyValue(kv: IKeyValue): KeyValue {
  return {
    key: kv.key.toString('utf8'),
    value: kv.value.toString('utf8'),
    bytes: kv.value.toString('latin1'),
    createRevision: Number(kv.create_revision),
    modRevision: Number(kv.mod_revision),
    lease: String(kv.lease),
  };
}

function watchResponse(res: IWatchResponse): WatchResponse {
  return {
    watchId: res.watch_id,
    revision: Number(res.header.revision),
    created: res.created,
    canceled: res.canceled,
    compactRevision: Number(res.compact_revision),
    cancelReason: res.cancel_reason,
    events: res.events.map((ev) => ({ type: ev.type === 'Delete' ? 'delete' : 'put', kv: keyValue(ev.kv) })),
  };
}

/**
 * One renewal on a stream of its own: write the request, take the answer, half-close. gRPC ends
 * the stream at `deadline` if etcd does not answer.
 */
async function keepAliveOnce(client: Etcd3, id: string, deadline: number): Promise<number> {
  const stream = await client.leaseClient.leaseKeepAlive({ deadline });
  return new Promise<number>((resolve, reject) => {
    stream.on('data', (res: { TTL: string }) => {
      resolve(Number(res.TTL));
      stream.end();
    });
    stream.on('error', (error: Error) => reject(error));
    stream.on('end', () => reject(new Error('etcd ended the keep-alive stream without an answer')));
    stream.write({ ID: id });
  });
}
