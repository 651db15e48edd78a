// The operator's view of a running steward: the status board, the control socket and the HTTP
// endpoints, started before any part so that they see the whole run and can answer "starting".

import type { Bus } from '../core/bus.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/log.ts';
import { answer } from './commands.ts';
import type { Endpoint } from './http-endpoints.ts';
import { formatListenAddress, type ListenAddress } from './listen-address.ts';
import type { Metrics } from './metrics.ts';
import { openControlSocket, type ControlSocket } from './socket-server.ts';
import { controlSocketPath } from './socket-path.ts';
import { createStatusBoard } from './status-board.ts';
import type { OperatorViews, RegisterViews } from './views.ts';

export interface OperatorOptions {
  /** STEWARD_CONTROL_SOCKET (auto, off or a path). */
  readonly controlSocket: string;
  readonly statusAddr: ListenAddress | undefined;
  readonly metricsAddr: ListenAddress | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly version: string;
  readonly bus: Bus;
  readonly log: Logger;
  readonly clock: Clock;
}

export interface Operator {
  readonly register: RegisterViews;
  close(): Promise<void>;
}

const TEXT = 'text/plain; charset=utf-8';

export async function startOperator(o: OperatorOptions): Promise<Operator> {
  const log = o.log.child('control');
  const views: OperatorViews = {};
  const board = createStatusBoard({ bus: o.bus, clock: o.clock, version: o.version, views });
  const closers: (() => Promise<void>)[] = [async () => board.stop()];
  let metrics: Metrics | undefined;
  if (o.metricsAddr !== undefined) {
    const { createMetrics } = await import('./metrics.ts');
    const m = await createMetrics(o.bus, board);
    metrics = m;
    closers.push(async () => m.stop());
  }
  const ctx = { bus: o.bus, board, views };
  // The app need not wait for the socket: it opens while the run starts (a --health before it is
  // open finds no socket, as it would a moment earlier).
  let opening: Promise<ControlSocket | undefined> = Promise.resolve(undefined);
  const place = controlSocketPath(o.controlSocket, o.env);
  if (place.path !== undefined) {
    const path = place.path;
    opening = openControlSocket(path, (request) => answer(ctx, request), log).catch((error: unknown) => {
      log.warn(`cannot create the control socket ${path}; running without one`, { error: String(error) });
      return undefined;
    });
  }
  else if (o.controlSocket !== 'off') log.warn(`no control socket: ${place.why}`);
  closers.push(async () => (await opening)?.close());
  try {
    const endpoints: Endpoint[] = [];
    // node:http only when an endpoint is on: a pure init stays light.
    const serveEndpoint = async (...args: Parameters<typeof import('./http-endpoints.ts').serveEndpoint>) =>
      (await import('./http-endpoints.ts')).serveEndpoint(...args);
    if (o.statusAddr !== undefined) {
      endpoints.push(await serveEndpoint(o.statusAddr, {
        '/healthz': async () => {
          const h = board.health();
          return { status: h.status === 'healthy' ? 200 : 503, type: TEXT, body: `${h.status}: ${h.reason}\n` };
        },
        '/status': async () => ({ status: 200, type: 'application/json', body: `${JSON.stringify(board.document(), null, 2)}\n` }),
      }));
    }
    if (metrics !== undefined && o.metricsAddr !== undefined) {
      const m = metrics;
      endpoints.push(await serveEndpoint(o.metricsAddr, {
        '/metrics': async () => ({ status: 200, type: m.contentType, body: await m.text() }),
      }));
    }
    for (const e of endpoints) {
      closers.push(e.close);
      log.info(`serving ${e.paths.join(', ')} on ${formatListenAddress(e.address)}`);
    }
  } catch (error) {
    for (const close of closers.reverse()) await close();
    throw error;
  }
  return {
    register(more) {
      Object.assign(views, more);
    },
    async close() {
      for (const close of closers.reverse()) await close().catch(() => {});
    },
  };
}
