// STEWARD_HEALTH_TCP (and wait-for's tcp: and healthy:HOST:PORT): every address must accept a
// connection, which is closed at once.

import { connect } from 'node:net';
import { ConfigError } from '../core/exit-codes.ts';
import { within } from '../core/process-control/deadline.ts';
import { failed, type Check, type CheckResult } from './check.ts';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** `host:port` or `[v6]:port`; undefined when it is neither. */
export function parseHostPort(text: string): HostPort | undefined {
  const m = /^(\[[^\]]+\]|[^:/]+):(\d{1,5})$/.exec(text.trim());
  const port = Number(m?.[2]);
  if (m === null || !(port > 0 && port < 65536)) return undefined;
  return { host: (m[1] ?? '').replace(/^\[|\]$/g, ''), port };
}

/** Connects once; resolves (never rejects) with whether it was accepted. */
export function tcpProbe(target: HostPort, timeoutMs: number, signal: AbortSignal): Promise<CheckResult> {
  const socket = connect({ host: target.host, port: target.port });
  const where = `${target.host}:${target.port}`;
  const accepted = new Promise<CheckResult>((resolve) => {
    socket.once('connect', () => resolve({ ok: true, output: `${where} accepts connections` }));
    socket.once('error', (error) => resolve({ ok: false, output: `${where}: ${error.message}` }));
  });
  return within(accepted, timeoutMs, signal, `${where}: no connection within ${timeoutMs}ms`)
    .catch(failed)
    .finally(() => socket.destroy());
}

export function parseTcpTargets(items: readonly string[], source: string): HostPort[] {
  return items.map((item) => {
    const target = parseHostPort(item);
    if (target === undefined) throw new ConfigError(`${source}: invalid address ${JSON.stringify(item)} (expected HOST:PORT, e.g. 127.0.0.1:8080)`);
    return target;
  });
}

export function tcpCheck(targets: readonly HostPort[]): Check {
  return {
    description: `tcp ${targets.map((t) => `${t.host}:${t.port}`).join(',')}`,
    async run(_pid, timeoutMs, signal) {
      const results = await Promise.all(targets.map((t) => tcpProbe(t, timeoutMs, signal)));
      const bad = results.filter((r) => !r.ok);
      return bad.length === 0 ? { ok: true, output: results.map((r) => r.output).join('; ') } : { ok: false, output: bad.map((r) => r.output).join('; ') };
    },
  };
}
