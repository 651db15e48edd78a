// The HTTP endpoints, both off by default: /healthz and /status on STEWARD_STATUS_ADDR, /metrics
// on STEWARD_METRICS_ADDR, so that a remote Prometheus can scrape metrics while /status stays on
// loopback. They only read: commands that change something are the control socket's.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { UnavailableError } from '../core/exit-codes.ts';
import { formatListenAddress, type ListenAddress } from './listen-address.ts';

export type Route = (req: IncomingMessage) => Promise<{ status: number; type: string; body: string }>;

export interface Endpoint {
  readonly address: ListenAddress;
  readonly paths: readonly string[];
  close(): Promise<void>;
}

function respond(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export async function serveEndpoint(address: ListenAddress, routes: Readonly<Record<string, Route>>): Promise<Endpoint> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const route = routes[path];
    if (route === undefined) return respond(res, 404, 'text/plain; charset=utf-8', `not found; try ${Object.keys(routes).join(' or ')}\n`);
    if (req.method !== 'GET' && req.method !== 'HEAD') return respond(res, 405, 'text/plain; charset=utf-8', 'read-only: use GET\n');
    route(req).then(
      (r) => respond(res, r.status, r.type, r.body),
      (error: unknown) => respond(res, 500, 'text/plain; charset=utf-8', `${String(error)}\n`),
    );
  });
  // Keep-alive connections from a scraper must not hold steward's stop.
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new UnavailableError(`cannot serve ${Object.keys(routes).join(', ')} on ${formatListenAddress(address)}: ${error.message}`)),
    );
    server.listen(address.port, address.host, () => resolve());
  });
  server.unref();
  const bound = server.address();
  const port = typeof bound === 'object' && bound !== null ? bound.port : address.port;
  return {
    address: { host: address.host, port },
    paths: Object.keys(routes),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
