// `steward --health`, `--status`, `--reload`, `--run-job NAME`, `--rollout-release`: the same
// binary as a client of the control socket. It loads no part and no logger.

import { createConnection } from 'node:net';
import { EXIT } from '../core/exit-codes.ts';
import type { ClientInvocation } from './client-argv.ts';
import { MAX_REQUEST_BYTES, type ControlAnswer } from './protocol.ts';
import { controlSocketPath } from './socket-path.ts';

export interface ClientResult {
  readonly exitCode: number;
  readonly stdout: string;
}

/** Past this, a steward that accepted the connection but does not answer counts as down (not for --run-job, which waits for the run). */
const ANSWER_TIMEOUT_MS = 10_000;

function ask(path: string, line: string, timeoutMs: number | undefined): Promise<ControlAnswer> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let text = '';
    socket.setEncoding('utf8');
    if (timeoutMs !== undefined) socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer within ${timeoutMs / 1000}s`)));
    socket.on('connect', () => socket.write(`${line}\n`));
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.on('error', reject);
    socket.on('end', () => {
      try {
        resolve(JSON.parse(text) as ControlAnswer);
      } catch {
        reject(new Error('the answer was not understood'));
      }
    });
  });
}

export async function runClient(c: ClientInvocation, setting: string, env: Readonly<Record<string, string | undefined>>): Promise<ClientResult> {
  // Health answers 0 or 1 only: Docker's HEALTHCHECK reserves the other codes.
  const health = c.request.command === 'health';
  const failed = health ? 1 : EXIT.unavailable;
  const prefix = health ? 'unhealthy: ' : 'steward: ';
  const place = controlSocketPath(c.socket ?? setting, env);
  if (place.path === undefined) return { exitCode: failed, stdout: `${prefix}no control socket (${place.why})\n` };
  const line = JSON.stringify(c.request);
  if (line.length > MAX_REQUEST_BYTES) return { exitCode: EXIT.usage, stdout: 'the request is too long\n' };
  try {
    const a = await ask(place.path, line, c.request.command === 'run-job' ? undefined : ANSWER_TIMEOUT_MS);
    if (c.json && a.status !== undefined) return { exitCode: a.exitCode, stdout: `${JSON.stringify(a.status, null, 2)}\n` };
    return { exitCode: a.exitCode, stdout: `${a.text}\n` };
  } catch (error) {
    const why = (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
    return { exitCode: failed, stdout: `${prefix}no steward answers at ${place.path} (${why})\n` };
  }
}
