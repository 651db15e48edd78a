// POSTs to etcd's JSON gateway over node:http or node:https, on an agent of the client's own
// (keep-alive connections; closing the client ends them all). A call has a deadline; its answer is
// parsed, and etcd's errors become EtcdServerError, failures of the connection (refused, reset,
// no answer in time, TLS) EtcdConnectionError. Headers (the auth token) never go into an error.

import type * as http from 'node:http';
import { gatewayErrorOf, type Json } from './gateway-json.ts';
import { jsonLines } from './json-lines.ts';

/** The connection, not etcd's answer, failed: another endpoint or a retry may do. */
export class EtcdConnectionError extends Error {
  override readonly name = 'EtcdConnectionError';
}

/** etcd answered with an error. */
export class EtcdServerError extends Error {
  override readonly name = 'EtcdServerError';
  /** gRPC's status code (5 not found, 11 out of range, 14 unavailable, 16 unauthenticated...). */
  readonly code: number;
  constructor(message: string, code: number) {
    super(message);
    this.code = code;
  }
}

/** What the client needs of node:http or node:https. */
export interface HttpModule {
  request(url: URL, options: http.RequestOptions): http.ClientRequest;
  Agent: new (options: http.AgentOptions & Record<string, unknown>) => http.Agent;
}

export interface StreamHandlers {
  message(message: Json): void;
  /** The stream failed (a connection error, or an answer that is not the gateway's framing). */
  error(error: Error): void;
  /** etcd ended the stream. */
  end(): void;
}

export interface Transport {
  /** One call with a JSON `body`: resolves with the answer, rejects at `deadline` (epoch ms) at the latest. */
  post(host: string, path: string, body: string, headers: Readonly<Record<string, string>>, deadline: number): Promise<Json>;
  /** A streamed call, without a deadline (the caller watches over it); returns a way to end it. */
  stream(host: string, path: string, body: string, headers: Readonly<Record<string, string>>, handlers: StreamHandlers): () => void;
  /** Ends every connection; calls in flight fail. */
  close(): void;
}

export function createTransport(module: HttpModule, agentOptions: Record<string, unknown>): Transport {
  const agent = new module.Agent({ keepAlive: true, ...agentOptions });
  const open = new Set<http.ClientRequest>();
  let closed = false;

  const start = (host: string, path: string, payload: string, headers: Readonly<Record<string, string>>): { req: http.ClientRequest; payload: string } => {
    if (closed) throw new EtcdConnectionError('the etcd client is closed');
    const req = module.request(new URL(path, host), {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)), ...headers },
    });
    open.add(req);
    req.once('close', () => open.delete(req));
    return { req, payload };
  };

  return {
    post(host, path, body, headers, deadline) {
      return new Promise<Json>((resolve, reject) => {
        const ms = Math.max(0, deadline - Date.now());
        let req: http.ClientRequest;
        let payload: string;
        try {
          ({ req, payload } = start(host, path, body, headers));
        } catch (error) {
          reject(error);
          return;
        }
        let settled = false;
        const fail = (error: unknown): void => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          reject(connectionError(error));
          req.destroy();
        };
        const timer = setTimeout(() => fail(new EtcdConnectionError(`no answer within ${ms} ms`)), ms);
        req.once('error', fail);
        req.once('response', (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.once('error', fail);
          res.once('aborted', () => fail(new EtcdConnectionError('the connection closed during the answer')));
          res.once('end', () => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            try {
              resolve(answerOf(res.statusCode ?? 0, Buffer.concat(chunks)));
            } catch (error) {
              reject(error);
            }
          });
        });
        req.end(payload);
      });
    },

    stream(host, path, body, headers, handlers) {
      let ended = false;
      let req: http.ClientRequest | undefined;
      const finish = (report: () => void): void => {
        if (ended) return;
        ended = true;
        req?.destroy();
        report();
      };
      try {
        const started = start(host, path, body, headers);
        req = started.req;
        req.once('error', (error) => finish(() => handlers.error(connectionError(error))));
        req.once('response', (res) => {
          if (res.statusCode !== 200) {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.once('end', () => finish(() => handlers.error(errorOfAnswer(res.statusCode ?? 0, Buffer.concat(chunks)))));
            return;
          }
          const lines = jsonLines();
          res.on('data', (chunk: Buffer) => {
            if (ended) return;
            let messages: Json[];
            try {
              messages = lines.push(chunk);
            } catch (error) {
              finish(() => handlers.error(new EtcdConnectionError(`etcd's answer is not the gateway's framing: ${(error as Error).message}`)));
              return;
            }
            for (const m of messages) {
              if (ended) return;
              handlers.message(m);
            }
          });
          res.once('error', (error) => finish(() => handlers.error(connectionError(error))));
          res.once('aborted', () => finish(() => handlers.error(new EtcdConnectionError('the connection closed during the answer'))));
          res.once('end', () => finish(() => handlers.end()));
        });
        req.end(started.payload);
      } catch (error) {
        queueMicrotask(() => finish(() => handlers.error(connectionError(error))));
      }
      return () => {
        ended = true;
        req?.destroy();
      };
    },

    close() {
      closed = true;
      for (const req of open) req.destroy(new EtcdConnectionError('the etcd client is closed'));
      open.clear();
      agent.destroy();
    },
  };
}

/** A socket's failure, named as gRPC names it (UNAVAILABLE), as etcd's other clients report it. */
function connectionError(error: unknown): Error {
  if (error instanceof EtcdConnectionError || error instanceof EtcdServerError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new EtcdConnectionError(`UNAVAILABLE: ${message}`, { cause: error });
}

function answerOf(status: number, body: Buffer): Json {
  if (status !== 200) throw errorOfAnswer(status, body);
  const parsed: unknown = JSON.parse(body.toString('utf8'));
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new EtcdConnectionError('etcd answered with something other than a JSON object');
  const error = gatewayErrorOf(parsed as Json);
  if (error !== undefined) throw new EtcdServerError(error.message, error.code);
  return parsed as Json;
}

/** An answer other than 200: etcd's error when the body holds one, else the HTTP status. */
function errorOfAnswer(status: number, body: Buffer): Error {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const error = typeof parsed === 'object' && parsed !== null ? gatewayErrorOf(parsed as Json) : undefined;
  if (error !== undefined) return new EtcdServerError(error.message, error.code);
  // Not the gateway talking (a proxy, a wrong port): another endpoint may do better.
  return new EtcdConnectionError(`HTTP ${status} from etcd's gateway`);
}
