// A loopback TCP proxy that can cut a client off from a server while both stay alive, the way a
// network partition does: pause() stops forwarding on every open connection (bytes stay in the
// kernel buffers, nobody sees a close or a reset) and, for new connections, either accepts and
// holds them ('hang': a connect succeeds, then nothing) or stops listening ('refuse':
// ECONNREFUSED). resume() lets everything through again, held connections included.

import { connect, createServer, type Server, type Socket } from 'node:net';

export type PauseMode = 'hang' | 'refuse';

export interface TcpProxy {
  readonly port: number;
  /** `127.0.0.1:PORT`. */
  readonly address: string;
  /** Connections currently open through the proxy (held ones included). */
  readonly connections: number;
  pause(mode?: PauseMode): Promise<void>;
  resume(): Promise<void>;
  /** Destroys every open connection on both sides at once (a reset), paused or not. */
  cut(): void;
  close(): Promise<void>;
}

export interface TcpProxyOptions {
  readonly targetHost?: string;
  /** Port to listen on (default: a free one). */
  readonly port?: number;
}

interface Pair {
  readonly client: Socket;
  upstream: Socket | undefined;
  /** One side closed while paused: the other learns it on resume, as after a healed partition. */
  closedWhilePaused: boolean;
}

export async function startTcpProxy(targetPort: number, options: TcpProxyOptions = {}): Promise<TcpProxy> {
  const targetHost = options.targetHost ?? '127.0.0.1';
  const pairs = new Set<Pair>();
  let mode: 'forward' | PauseMode = 'forward';
  let closed = false;

  const destroy = (pair: Pair): void => {
    pairs.delete(pair);
    pair.client.destroy();
    pair.upstream?.destroy();
  };

  const link = (pair: Pair): void => {
    const { client } = pair;
    const upstream = connect(targetPort, targetHost);
    pair.upstream = upstream;
    const forward = (from: Socket, to: Socket): void => {
      from.on('data', (chunk: Buffer) => {
        if (!to.write(chunk)) from.pause();
      });
      to.on('drain', () => {
        if (mode === 'forward') from.resume();
      });
      from.on('end', () => {
        if (mode === 'forward') to.end();
        else pair.closedWhilePaused = true;
      });
    };
    forward(client, upstream);
    forward(upstream, client);
    for (const side of [client, upstream]) {
      side.on('error', () => {});
      side.on('close', () => {
        if (mode === 'forward') destroy(pair);
        else pair.closedWhilePaused = true;
      });
    }
    if (mode !== 'forward') {
      client.pause();
      upstream.pause();
    }
  };

  const onConnection = (client: Socket): void => {
    if (closed) {
      client.destroy();
      return;
    }
    client.on('error', () => {});
    const pair: Pair = { client, upstream: undefined, closedWhilePaused: false };
    pairs.add(pair);
    if (mode === 'hang') {
      client.pause();
      client.once('close', () => {
        if (pair.upstream === undefined) pairs.delete(pair);
      });
      return;
    }
    link(pair);
  };

  const listen = (port: number): Promise<Server> =>
    new Promise((resolve, reject) => {
      const s = createServer(onConnection);
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve(s));
    });

  let server = await listen(options.port ?? 0);
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the proxy has no TCP address');
  const port = address.port;

  const stopListening = (s: Server): void => {
    // close() frees the port at once; its callback would wait for every connection to end.
    s.close();
  };

  return {
    port,
    address: `127.0.0.1:${port}`,
    get connections() {
      return pairs.size;
    },
    async pause(next: PauseMode = 'hang') {
      if (mode === 'refuse' && next === 'hang') server = await listen(port);
      if (next === 'refuse' && mode !== 'refuse') stopListening(server);
      mode = next;
      for (const pair of pairs) {
        pair.client.pause();
        pair.upstream?.pause();
      }
    },
    async resume() {
      if (mode === 'refuse') server = await listen(port);
      mode = 'forward';
      for (const pair of [...pairs]) {
        if (pair.closedWhilePaused) {
          destroy(pair);
        } else if (pair.upstream === undefined) {
          link(pair);
          pair.client.resume();
        } else {
          pair.client.resume();
          pair.upstream.resume();
        }
      }
    },
    cut() {
      for (const pair of [...pairs]) destroy(pair);
    },
    async close() {
      closed = true;
      for (const pair of [...pairs]) destroy(pair);
      if (mode !== 'refuse') await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
