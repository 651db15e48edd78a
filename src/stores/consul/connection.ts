// Where the Consul agents are and how to talk to them, built once from steward's options for the
// template backend and the coordinator alike: the agents of CONFD_NODE (fail-over between them,
// pool.ts), TLS material, the ACL token, and the deadline of every request. A plain request
// gets `requestTimeoutMs` per agent tried; a blocking one its wait + wait/16 (the most Consul
// adds) + `requestTimeoutMs`.

import { readFileSync } from 'node:fs';
import { ConfigError } from '../../core/exit-codes.ts';
import type { StoreOptions, TlsFiles } from '../types.ts';
import { consulAuthFailure } from '../auth-failure.ts';
import { ConsulResponseError, type ConsulWrite, type KvListing, type TlsMaterial } from './kv-client.ts';
import { parseConsulNodes } from './nodes.ts';
import { NodePool } from './pool.ts';

export type ConsulOptions = Pick<StoreOptions, 'nodes' | 'scheme' | 'tls' | 'token'>;

export interface ConsulTimeouts {
  /** Deadline of a plain request to one agent, and the margin on a blocking one. */
  readonly requestTimeoutMs: number;
  /**
   * The wait of each blocking query. Consul's default is 5 min; a shorter one notices a silently
   * dead connection (a frozen or partitioned agent) sooner, at one request per key per wait.
   */
  readonly waitMs: number;
}

export interface ConsulConnection {
  /** The agents, for logs and messages (never credentials). */
  readonly source: string;
  readonly requestTimeoutMs: number;
  /** GET /v1/kv/<prefix>?recurse (`prefix` in the API's form); with `index` (>= 1), a blocking query. */
  list(prefix: string, index: number | undefined, signal: AbortSignal): Promise<KvListing>;
  /** One write (see KvClient.write), with the plain deadline unless `timeoutMs` is given. */
  write(call: ConsulWrite, options: Record<string, unknown>, signal: AbortSignal, timeoutMs?: number): Promise<unknown>;
  close(): Promise<void>;
}

/** Loads the npm client ahead of the first request (to overlap it with other start-up work). */
export async function preloadConsul(): Promise<void> {
  await import('consul');
}

/** Consul's API takes keys without the leading "/" that confd-style names carry (confd strips one). */
export function apiKey(key: string): string {
  return key.startsWith('/') ? key.slice(1) : key;
}

export function consulConnection(options: ConsulOptions, timeouts: ConsulTimeouts): ConsulConnection {
  const nodes = parseConsulNodes(options.nodes, options.scheme);
  const pool = new NodePool(nodes, readConsulTls(options.tls), options.token);
  const { requestTimeoutMs, waitMs } = timeouts;
  return {
    source: nodes.map((n) => n.url).join(', '),
    requestTimeoutMs,
    list(prefix, index, signal) {
      const query =
        index === undefined
          ? { timeoutMs: requestTimeoutMs, signal }
          : { index, waitMs, timeoutMs: waitMs + Math.ceil(waitMs / 16) + requestTimeoutMs, signal };
      return pool.request((client) => client.list(prefix, query), signal);
    },
    write(call, writeOptions, signal, timeoutMs = requestTimeoutMs) {
      return pool.request((client) => client.write(call, writeOptions, { timeoutMs, signal }), signal);
    },
    close: () => pool.destroy(),
  };
}

/**
 * A 403 is Consul refusing the token (unknown, or without the rights): a ConfigError naming the
 * setting; any other error as it is. For reads whose failure would otherwise be retried as an
 * outage (the coordinator tells a Consul answer from a dead agent itself).
 */
export function refusedToken(error: unknown, source: string): unknown {
  if (!(error instanceof ConsulResponseError) || error.status !== 403) return error;
  return consulAuthFailure(source, error.message);
}

/** Reads the CA, client certificate and key that CONFD_CLIENT_* name (both or neither of cert and key). */
export function readConsulTls(tls: TlsFiles): TlsMaterial {
  const hasCert = (tls.cert ?? '') !== '';
  const hasKey = (tls.key ?? '') !== '';
  if (hasCert !== hasKey) {
    throw new ConfigError(
      hasCert
        ? 'CONFD_CLIENT_KEY (--client-key): needed with CONFD_CLIENT_CERT for a Consul client certificate'
        : 'CONFD_CLIENT_CERT (--client-cert): needed with CONFD_CLIENT_KEY for a Consul client certificate',
    );
  }
  return {
    ca: readTlsFile(tls.ca, 'CONFD_CLIENT_CAKEYS (--client-cakeys)'),
    cert: readTlsFile(tls.cert, 'CONFD_CLIENT_CERT (--client-cert)'),
    key: readTlsFile(tls.key, 'CONFD_CLIENT_KEY (--client-key)'),
  };
}

function readTlsFile(path: string | undefined, variable: string): Buffer | undefined {
  if (path === undefined || path === '') return undefined;
  try {
    return readFileSync(path);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new ConfigError(`${variable}: cannot read ${path}: ${reason}`);
  }
}
