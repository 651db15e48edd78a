// Consul agent addresses from CONFD_NODE / --node: "host:port" (scheme from CONFD_SCHEME) or
// "http(s)://host:port", as hashicorp's api client splits them. A bare host gets Consul's HTTP
// port 8500; a URL with a scheme and no port keeps that scheme's own default (80/443), since
// that is what a URL means (an agent behind a proxy or load balancer).

import { ConfigError } from '../../core/exit-codes.ts';

export interface ConsulNode {
  /** For logs and messages: scheme, host and port, never credentials. */
  readonly url: string;
  /** What the npm client is given: ".../v1". */
  readonly baseUrl: string;
  readonly secure: boolean;
}

export const DEFAULT_CONSUL_NODE = '127.0.0.1:8500';
const DEFAULT_PORT = '8500';

export function parseConsulNodes(nodes: readonly string[], scheme: string): ConsulNode[] {
  const given = nodes.map((n) => n.trim()).filter((n) => n !== '');
  return (given.length === 0 ? [DEFAULT_CONSUL_NODE] : given).map((n) => parseConsulNode(n, scheme));
}

export function parseConsulNode(address: string, scheme: string): ConsulNode {
  const explicit = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(address);
  const chosen = (explicit?.[1] ?? (scheme.trim() === '' ? 'http' : scheme.trim())).toLowerCase();
  if (chosen !== 'http' && chosen !== 'https') {
    const where = explicit === null ? `CONFD_SCHEME (--scheme) "${scheme}"` : `CONFD_NODE (--node) "${address}"`;
    throw new ConfigError(`${where}: unknown scheme "${chosen}" for Consul; accepted: http, https`);
  }
  const rest = explicit === null ? address : address.slice(explicit[0].length);
  let url: URL;
  try {
    url = new URL(`${chosen}://${rest}`);
  } catch {
    throw new ConfigError(`CONFD_NODE (--node) "${address}": not a Consul address; expected host:port or http(s)://host:port`);
  }
  if (url.search !== '' || url.hash !== '' || url.hostname === '') {
    throw new ConfigError(`CONFD_NODE (--node) "${address}": not a Consul address; expected host:port or http(s)://host:port`);
  }
  if (explicit === null && url.port === '') url.port = DEFAULT_PORT;
  const path = url.pathname.replace(/\/+$/, '');
  const auth = url.username === '' ? '' : `${url.username}${url.password === '' ? '' : `:${url.password}`}@`;
  return {
    url: `${url.protocol}//${url.host}${path}`,
    baseUrl: `${url.protocol}//${auth}${url.host}${path}/v1`,
    secure: chosen === 'https',
  };
}
