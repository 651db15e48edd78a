import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';

// A bare HTTP client for checking the double's wire behaviour: exact status, headers and
// body bytes, no retries and no connection reuse between tests.

export interface CallResult {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly text: string;
  json<T = unknown>(): T;
  /** X-Consul-Index as a number, or undefined when absent. */
  readonly index: number | undefined;
}

export interface CallOptions {
  readonly body?: string | Buffer;
  readonly headers?: Record<string, string>;
  /** Extra TLS options (ca, cert, key, servername) for https URLs. */
  readonly tls?: https.RequestOptions;
  readonly signal?: AbortSignal;
}

export function call(baseUrl: string, method: string, pathAndQuery: string, opts: CallOptions = {}): Promise<CallResult> {
  const url = new URL(pathAndQuery, baseUrl);
  const body = opts.body === undefined ? undefined : Buffer.from(opts.body);
  const headers: Record<string, string> = { ...opts.headers };
  if (body !== undefined) headers['Content-Length'] = String(body.length);
  const requestOptions: https.RequestOptions = {
    method,
    headers,
    agent: false,
    ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    ...opts.tls,
  };
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = transport.request(url, requestOptions, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const data = Buffer.concat(chunks);
        const rawIndex = res.headers['x-consul-index'];
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: data,
          text: data.toString('utf8'),
          json: <T>() => JSON.parse(data.toString('utf8')) as T,
          index: typeof rawIndex === 'string' ? Number(rawIndex) : undefined,
        });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

export interface KvJson {
  LockIndex: number;
  Key: string;
  Flags: number;
  Value: string | null;
  Session?: string;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface SessionJson {
  ID: string;
  Name: string;
  Node: string;
  LockDelay: number;
  Behavior: string;
  TTL: string;
  NodeChecks: string[] | null;
  ServiceChecks: unknown[] | null;
  Checks?: string[];
  CreateIndex: number;
  ModifyIndex: number;
}

/** Tracks whether a promise has settled, to assert that a parked request is still unanswered. */
export function track<T>(promise: Promise<T>): { promise: Promise<T>; readonly settled: boolean } {
  let settled = false;
  const tracked = promise.finally(() => {
    settled = true;
  });
  return {
    promise: tracked,
    get settled() {
      return settled;
    },
  };
}

/** Lets pending I/O callbacks run once; used only before asserting that nothing happened. */
export function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
