// The control socket: a Unix socket that only steward's user may connect to (mode 0600, made so
// by the umask before it exists). A live socket at the path belongs to another steward: this one
// runs without. A stale one (nobody answers) is replaced.

import { chmodSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../core/log.ts';
import { MAX_REQUEST_BYTES, type ControlAnswer, type ControlRequest } from './protocol.ts';

export interface ControlSocket {
  readonly path: string;
  close(): Promise<void>;
}

/** Whether someone accepts connections at `path` now. */
export function socketIsLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createConnection(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

function listen(server: Server, path: string): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const onError = (error: NodeJS.ErrnoException) => resolve(error);
    server.once('error', onError);
    // The socket is created 0600 or not at all: nobody else can connect between bind and chmod.
    const umask = process.umask(0o177);
    try {
      server.listen(path, () => {
        server.off('error', onError);
        resolve(undefined);
      });
    } finally {
      process.umask(umask);
    }
  });
}

function parseRequest(line: string): ControlRequest | undefined {
  try {
    const r = JSON.parse(line) as { command?: unknown; job?: unknown; on?: unknown };
    if (r.command === 'run-job') return typeof r.job === 'string' ? { command: 'run-job', job: r.job } : undefined;
    if (r.command === 'maintenance') return typeof r.on === 'boolean' ? { command: 'maintenance', on: r.on } : undefined;
    if (r.command === 'health' || r.command === 'status' || r.command === 'reload' || r.command === 'rollout-release') return { command: r.command };
  } catch {
    // Not JSON: not a request.
  }
  return undefined;
}

function serve(socket: Socket, handle: (r: ControlRequest) => Promise<ControlAnswer>, log: Logger): void {
  let buffer = '';
  socket.setEncoding('utf8');
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    const nl = buffer.indexOf('\n');
    if (nl === -1 && buffer.length <= MAX_REQUEST_BYTES) return;
    socket.removeAllListeners('data');
    const request = parseRequest(nl === -1 ? '' : buffer.slice(0, nl));
    const reply = (a: ControlAnswer) => socket.end(`${JSON.stringify(a)}\n`);
    if (request === undefined) {
      reply({ exitCode: 64, text: 'not a control request' });
      return;
    }
    handle(request).then(reply, (error: unknown) => {
      log.error('control command failed', { command: request.command, error: String(error) });
      reply({ exitCode: 1, text: `${request.command} failed: ${String(error)}` });
    });
  });
}

/** Listens at `path`; undefined when another steward holds it (or it cannot be created: logged). */
export async function openControlSocket(
  path: string,
  handle: (r: ControlRequest) => Promise<ControlAnswer>,
  log: Logger,
): Promise<ControlSocket | undefined> {
  const server = createServer((socket) => serve(socket, handle, log));
  let error = await listen(server, path);
  if (error?.code === 'EADDRINUSE') {
    if (await socketIsLive(path)) {
      log.debug(`control socket ${path} is in use by another steward; running without one`);
      return undefined;
    }
    try {
      unlinkSync(path);
    } catch {
      // Someone else removed it first.
    }
    log.info(`replaced the stale control socket ${path}`);
    error = await listen(server, path);
  }
  if (error !== undefined) {
    log.warn(`cannot create the control socket ${path}; running without one`, { error: error.message });
    return undefined;
  }
  chmodSync(path, 0o600);
  server.unref();
  log.debug('control socket open', { path });
  return {
    path,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
