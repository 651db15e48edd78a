// Plain HTTP calls to one Consul agent, for the agent's service and check endpoints and the
// catalog and health reads that discovery makes (src/discovery/). The npm client is not used
// here: these are a handful of JSON calls, and its agent API has no way to pass a blocking
// query's index and read X-Consul-Index back on every call.

import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { ConsulConnectionError, ConsulResponseError, type TlsMaterial } from './kv-client.ts';
import type { ConsulNode } from './nodes.ts';

export interface AgentAnswer {
  readonly status: number;
  /** X-Consul-Index, when the answer has one. */
  readonly index: number | undefined;
  readonly body: string;
}

export interface AgentCall {
  readonly method: 'GET' | 'PUT';
  /** Path under /v1, with its query (already encoded). */
  readonly path: string;
  readonly body?: unknown;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
}

export interface ConsulAgentHttp {
  readonly url: string;
  /** One call; an HTTP error is a ConsulResponseError, no answer a ConsulConnectionError. */
  call(call: AgentCall): Promise<AgentAnswer>;
  close(): void;
}

export function consulAgentHttp(node: ConsulNode, tls: TlsMaterial, token: string | undefined): ConsulAgentHttp {
  const agent = node.secure
    ? new HttpsAgent({ keepAlive: false, ...(tls.ca === undefined ? {} : { ca: tls.ca }), ...(tls.cert === undefined ? {} : { cert: tls.cert, key: tls.key }) })
    : new HttpAgent({ keepAlive: false });
  const send = node.secure ? httpsRequest : httpRequest;
  return {
    url: node.url,
    call(c) {
      const target = new URL(`${node.baseUrl}${c.path}`);
      const what = `${c.method} ${node.url}/v1${c.path.split('?')[0] ?? ''}`;
      const payload = c.body === undefined ? undefined : Buffer.from(JSON.stringify(c.body));
      return new Promise<AgentAnswer>((resolve, reject) => {
        c.signal.throwIfAborted();
        const headers: Record<string, string> = {};
        if (token !== undefined && token !== '') headers['X-Consul-Token'] = token;
        if (payload !== undefined) {
          headers['Content-Type'] = 'application/json';
          headers['Content-Length'] = String(payload.length);
        }
        const req = send(target, { method: c.method, agent, headers, signal: c.signal, timeout: c.timeoutMs }, (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', (error) => reject(new ConsulConnectionError(`${what}: ${error.message}`)));
          res.on('end', () => {
            const body = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status >= 400) {
              reject(new ConsulResponseError(`${what}: ${status} ${body.trim().slice(0, 300)}`, status));
              return;
            }
            const header = res.headers['x-consul-index'];
            const index = typeof header === 'string' && /^[0-9]+$/.test(header) ? Number(header) : undefined;
            resolve({ status, index, body });
          });
        });
        req.on('timeout', () => req.destroy(new Error(`no answer within ${c.timeoutMs} ms`)));
        req.on('error', (error: NodeJS.ErrnoException) => {
          if (c.signal.aborted) reject(c.signal.reason);
          else reject(new ConsulConnectionError(`${what}: ${error.code === 'ECONNREFUSED' ? 'connection refused' : error.message}`));
        });
        req.end(payload);
      });
    },
    close: () => agent.destroy(),
  };
}
