// One recursive KV read against one agent, through the npm `consul` client (v2, on papi); and,
// for the cluster coordinator, the KV and session writes it needs (`write`).
//
// What the client needs to be told to do it right:
// - `ctx` with `includeResponse: true` makes kv.get resolve to [response, body], which is the
//   only way to see X-Consul-Index; `index` and `wait` go through as query parameters as given.
// - `ctx` must be an EventEmitter: papi aborts the request when it emits 'cancel' (there is no
//   AbortSignal support), which is how a watch is stopped.
// - `timeout` (ms) is papi's deadline for the whole request, the only one there is.
// - Its own `watch()` is not used: it ends for good on a response without X-Consul-Index,
//   reports an index going backwards as two changes (the lower one, then again after its reset
//   to 0), has no fail-over and its own back-off.
// - It creates a keep-alive agent unless given one. steward passes a non-keep-alive agent: a
//   blocking query holds its connection for the whole wait anyway, so keep-alive saves one
//   handshake per wait at best, and a reused socket the agent has closed meanwhile would turn
//   into a spurious ECONNRESET (Node does not retry it); nothing idle stays open either.

import { EventEmitter } from 'node:events';
import { Agent as HttpAgent, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { ConsulNode } from './nodes.ts';

export interface TlsMaterial {
  readonly ca: Buffer | undefined;
  readonly cert: Buffer | undefined;
  readonly key: Buffer | undefined;
}

export interface KvQuery {
  /** Blocking query from this index (>= 1); absent for a plain read. */
  readonly index?: number;
  /** The blocking query's wait. */
  readonly waitMs?: number;
  /** Deadline for the whole request. */
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
}

export interface KvPair {
  readonly key: string;
  /** The value as UTF-8 text (what the coordinators wrote and compare). */
  readonly value: string;
  /** The value's exact bytes, one char per byte ('latin1'): what templates render. */
  readonly bytes: string;
  /** The session holding the key's lock, '' when unlocked. */
  readonly session: string;
  readonly lockIndex: number;
  readonly modifyIndex: number;
}

export interface KvListing {
  readonly pairs: readonly KvPair[];
  /** X-Consul-Index, or undefined when the answer has none (or an unreadable one). */
  readonly index: number | undefined;
}

/** Consul answered, with an error status. Not a reason to fail over. */
export class ConsulResponseError extends Error {
  readonly status: number;
  constructor(message: string, status: number) {
    super(message);
    this.name = 'ConsulResponseError';
    this.status = status;
  }
}

/** The agent could not be reached or did not answer in time: try the next one. */
export class ConsulConnectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConsulConnectionError';
  }
}

/** The npm client's methods that `write` may call. */
export type ConsulWrite = 'kv.set' | 'kv.del' | 'session.create' | 'session.renew' | 'session.destroy';

export interface WriteRequest {
  /** Deadline for the whole request. */
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
}

export interface KvClient {
  readonly node: ConsulNode;
  /** GET /v1/kv/<prefix>?recurse; a 404 (nothing under the prefix) is an empty listing. */
  list(prefix: string, query: KvQuery): Promise<KvListing>;
  /**
   * One call of the npm client (its own option names: key, value, acquire, release, cas, id,
   * ttl, behavior, lockdelay, checks, name), with the token, deadline and cancellation `list`
   * uses; resolves with the decoded body.
   */
  write(call: ConsulWrite, options: Record<string, unknown>, request: WriteRequest): Promise<unknown>;
  destroy(): void;
}

type NpmCall = (options: Record<string, unknown>) => Promise<unknown>;

/** The part of the npm client used here (its typings lack index, wait, token, timeout, ctx). */
interface NpmConsulClient {
  kv: { get: NpmCall; set: NpmCall; del: NpmCall };
  session: { create: NpmCall; renew: NpmCall; destroy: NpmCall };
  destroy(): void;
}

interface PapiError {
  message?: string;
  code?: string;
  isResponse?: boolean;
  isTimeout?: boolean;
  isAbort?: boolean;
  statusCode?: number;
  response?: { body?: unknown };
}

export async function createKvClient(node: ConsulNode, tls: TlsMaterial, token: string | undefined): Promise<KvClient> {
  const { default: Consul } = await import('consul');
  const agent = node.secure ? new HttpsAgent({ keepAlive: false }) : new HttpAgent({ keepAlive: false });
  const tlsOptions = node.secure
    ? { ...(tls.ca === undefined ? {} : { ca: tls.ca }), ...(tls.cert === undefined ? {} : { cert: tls.cert, key: tls.key }) }
    : {};
  // papi passes ca/cert/key on to https.request for every request.
  const client = new Consul({ baseUrl: node.baseUrl, agent, ...tlsOptions } as never) as unknown as NpmConsulClient;

  async function send(run: NpmCall, options: Record<string, unknown>, request: WriteRequest, what: string): Promise<[IncomingMessage, unknown]> {
    request.signal.throwIfAborted();
    const ctx = Object.assign(new EventEmitter(), { includeResponse: true });
    const cancel = (): void => {
      ctx.emit('cancel');
    };
    request.signal.addEventListener('abort', cancel, { once: true });
    const all: Record<string, unknown> = { ...options, timeout: request.timeoutMs, ctx };
    if (token !== undefined && token !== '') all['token'] = token;
    try {
      return (await run(all)) as [IncomingMessage, unknown];
    } catch (error) {
      if (request.signal.aborted) throw request.signal.reason;
      throw classify(error as PapiError, what, request.timeoutMs);
    } finally {
      request.signal.removeEventListener('abort', cancel);
    }
  }

  return {
    node,
    async list(prefix, query) {
      // buffer: the npm client decodes Value's base64 into a Buffer instead of UTF-8 text.
      const options: Record<string, unknown> = { key: prefix, recurse: true, buffer: true };
      if (query.index !== undefined) {
        options['index'] = String(query.index);
        if (query.waitMs !== undefined) options['wait'] = `${Math.max(1, Math.round(query.waitMs))}ms`;
      }
      const what = `GET ${node.url}/v1/kv/${prefix}?recurse${query.index === undefined ? '' : `&index=${query.index}`}`;
      const [response, body] = await send((o) => client.kv.get(o), options, query, what);
      return { pairs: toPairs(body), index: parseIndex(response.headers['x-consul-index']) };
    },
    async write(call, options, request) {
      const [group, method] = call.split('.') as ['kv' | 'session', string];
      const target = (client[group] as Record<string, NpmCall>)[method] as NpmCall;
      const flag = ['acquire', 'release', 'cas'].find((name) => options[name] !== undefined);
      const subject =
        group === 'kv'
          ? `kv/${String(options['key'])}${flag === undefined ? '' : `?${flag}=${String(options[flag])}`}`
          : `session/${method}${options['id'] === undefined ? '' : `/${String(options['id'])}`}`;
      const what = `${call === 'kv.del' ? 'DELETE' : 'PUT'} ${node.url}/v1/${subject}`;
      const [, body] = await send((o) => target.call(client[group], o), options, request, what);
      return body;
    },
    destroy() {
      client.destroy();
      agent.destroy();
    },
  };
}

function toPairs(body: unknown): KvPair[] {
  if (!Array.isArray(body)) return [];
  const pairs: KvPair[] = [];
  for (const item of body as { Key?: unknown; Value?: unknown; Session?: unknown; LockIndex?: unknown; ModifyIndex?: unknown }[]) {
    if (typeof item?.Key !== 'string') continue;
    // An empty value is JSON null; confd's string(p.Value) makes it "".
    const raw = Buffer.isBuffer(item.Value) ? item.Value : typeof item.Value === 'string' ? Buffer.from(item.Value, 'utf8') : Buffer.alloc(0);
    pairs.push({
      key: item.Key,
      value: raw.toString('utf8'),
      bytes: raw.toString('latin1'),
      session: typeof item.Session === 'string' ? item.Session : '',
      lockIndex: typeof item.LockIndex === 'number' ? item.LockIndex : 0,
      modifyIndex: typeof item.ModifyIndex === 'number' ? item.ModifyIndex : 0,
    });
  }
  return pairs;
}

function parseIndex(header: string | string[] | undefined): number | undefined {
  const text = Array.isArray(header) ? header[0] : header;
  if (text === undefined || !/^[0-9]+$/.test(text.trim())) return undefined;
  return Number(text.trim());
}

function classify(error: PapiError, what: string, timeoutMs: number): Error {
  if (error.isResponse === true && typeof error.statusCode === 'number') {
    const body = error.response?.body;
    let text = typeof body === 'string' ? body : Buffer.isBuffer(body) ? body.toString('utf8') : '';
    text = text.trim();
    if (text === '') text = (error.message ?? '').replace(/^consul: [a-z]+\.[a-z]+: /, '');
    if (text.length > 300) text = `${text.slice(0, 300)}…`;
    return new ConsulResponseError(`${what}: ${error.statusCode} ${text}`, error.statusCode);
  }
  let reason: string;
  if (error.isTimeout === true) reason = `no answer within ${timeoutMs} ms`;
  else if (error.code === 'ECONNREFUSED') reason = 'connection refused';
  else reason = (error.message ?? String(error)).replace(/^consul: [a-z]+\.[a-z]+: /, '');
  return new ConsulConnectionError(`${what}: ${reason}`);
}
