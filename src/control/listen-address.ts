// STEWARD_STATUS_ADDR and STEWARD_METRICS_ADDR: HOST:PORT, [IPV6]:PORT, :PORT or PORT. Without a
// host an endpoint binds to loopback: exposing it beyond the container is a choice to write down.

import { ConfigError } from '../core/exit-codes.ts';

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export const LOOPBACK = '127.0.0.1';

export function parseListenAddress(raw: string, source: string): ListenAddress | undefined {
  const text = raw.trim();
  if (text === '') return undefined;
  const match = /^(?:(\[[0-9a-fA-F:.]+\]|[^:[\]]*):)?(\d{1,5})$/.exec(text);
  const port = match === null ? Number.NaN : Number(match[2]);
  if (match === null || port > 65535) {
    throw new ConfigError(`${source}: expected HOST:PORT, :PORT or PORT (e.g. 127.0.0.1:9100), got ${JSON.stringify(raw)}`);
  }
  const host = match[1] === undefined || match[1] === '' ? LOOPBACK : match[1].replace(/^\[|\]$/g, '');
  return { host, port };
}

export function formatListenAddress(a: ListenAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
