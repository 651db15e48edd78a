// Building etcd3 clients. etcd3 (and gRPC under it) is imported only when a client is first
// needed: loading it takes ~200 ms, which steward overlaps with its other start-up work.

import { readFileSync } from 'node:fs';
import * as tls from 'node:tls';
import type { Etcd3, IOptions } from 'etcd3';
import { ConfigError } from '../../core/exit-codes.ts';
import { parseEndpoints } from './endpoints.ts';
import type { BackendOptions } from '../backend.ts';

export type Etcd3Module = typeof import('etcd3');

export function loadEtcd3(): Promise<Etcd3Module> {
  return import('etcd3');
}

type Policy = ReturnType<NonNullable<NonNullable<IOptions['faultHandling']>['host']>>;

export interface ConnectionSettings {
  readonly credentials: IOptions['credentials'];
  readonly auth: IOptions['auth'];
  /** Deadline of every unary call (etcd3 sets none: a hung etcd would hang the call forever). */
  readonly requestTimeoutMs: number;
  readonly keepaliveTimeMs: number;
  readonly keepaliveTimeoutMs: number;
}

/** TLS material and credentials from the options; file errors name the variable and the file. */
export function connectionSecrets(
  options: Pick<BackendOptions, 'tls' | 'username' | 'password'>,
  secure: boolean,
): Pick<ConnectionSettings, 'credentials' | 'auth'> {
  const { cert, key, ca } = options.tls;
  if ((cert === undefined) !== (key === undefined)) {
    throw new ConfigError(
      cert === undefined
        ? 'CONFD_CLIENT_CERT: a client key (CONFD_CLIENT_KEY) was given without its certificate'
        : 'CONFD_CLIENT_KEY: a client certificate (CONFD_CLIENT_CERT) was given without its key',
    );
  }
  const credentials: IOptions['credentials'] = secure
    ? {
        rootCertificate: ca === undefined ? defaultRoots() : readPem('CONFD_CLIENT_CAKEYS', ca),
        ...(cert !== undefined && key !== undefined
          ? { certChain: readPem('CONFD_CLIENT_CERT', cert), privateKey: readPem('CONFD_CLIENT_KEY', key) }
          : {}),
      }
    : undefined;
  const auth =
    options.username !== undefined && options.username !== ''
      ? { username: options.username, password: options.password ?? '' }
      : undefined;
  return { credentials, auth };
}

/** Without a CA file, Go's clientv3 trusts the system's CAs; Node adds its bundled ones. */
function defaultRoots(): Buffer {
  // getCACertificates() is Node >= 22.15; steward runs on >= 22.12.
  const certs =
    typeof tls.getCACertificates === 'function' ? [...tls.getCACertificates('default'), ...tls.getCACertificates('system')] : tls.rootCertificates;
  return Buffer.from(certs.join('\n'));
}

function readPem(variable: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new ConfigError(`${variable}: cannot read ${file} (${code})`);
  }
}

/**
 * An etcd3 client for `hosts`. A call that fails on one endpoint for a network reason is tried
 * on the next one, each endpoint once, at once.
 */
export function createClient(etcd: Etcd3Module, hosts: readonly string[], c: ConnectionSettings): Etcd3 {
  const options: IOptions = {
    hosts: [...hosts],
    ...(c.credentials ? { credentials: c.credentials } : {}),
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
  const client = new etcd.Etcd3({ ...options, auth: c.auth });
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

/** Where and how to connect, from steward's options: what the backend and the coordinator share. */
export function connectionFor(
  options: Pick<BackendOptions, 'nodes' | 'scheme' | 'tls' | 'username' | 'password'>,
  timing: Pick<ConnectionSettings, 'requestTimeoutMs' | 'keepaliveTimeMs' | 'keepaliveTimeoutMs'>,
): { readonly hosts: readonly string[]; readonly source: string; readonly settings: ConnectionSettings } {
  const tlsFiles = options.tls.ca !== undefined || options.tls.cert !== undefined || options.tls.key !== undefined;
  const { hosts, secure } = parseEndpoints(options.nodes, options.scheme, tlsFiles);
  const settings: ConnectionSettings = {
    ...connectionSecrets(options, secure),
    requestTimeoutMs: timing.requestTimeoutMs,
    keepaliveTimeMs: timing.keepaliveTimeMs,
    keepaliveTimeoutMs: timing.keepaliveTimeoutMs,
  };
  return { hosts, source: hosts.join(','), settings };
}
