// CONFD_NODE entries -> the etcd client's endpoint list. confd's etcdv3 client accepts `host:port`
// and `http(s)://host:port`; steward also applies CONFD_SCHEME to entries without a scheme and
// switches them to https when TLS files are given (confd turns TLS on from the files alone).

import { ConfigError } from '../../core/exit-codes.ts';

export const DEFAULT_ETCD_NODE = '127.0.0.1:2379';
const DEFAULT_PORT = '2379';

export interface EtcdEndpoints {
  /** `http://host:port` or `https://host:port`, one scheme for all (one TLS setting for every endpoint). */
  readonly hosts: readonly string[];
  readonly secure: boolean;
}

export function parseEndpoints(nodes: readonly string[], scheme: string, tlsFilesGiven: boolean): EtcdEndpoints {
  const fallback = scheme.trim().toLowerCase();
  if (fallback !== 'http' && fallback !== 'https') {
    throw new ConfigError(`CONFD_SCHEME: "${scheme}" is not a scheme etcd speaks; use http or https`);
  }
  const given = nodes.map((n) => n.trim()).filter((n) => n !== '');
  const hosts = (given.length > 0 ? given : [DEFAULT_ETCD_NODE]).map((node) =>
    endpointOf(node, tlsFilesGiven && !/^[a-z][a-z0-9+.-]*:\/\//i.test(node) ? 'https' : fallback),
  );
  const secure = hosts.filter((h) => h.startsWith('https://')).length;
  if (secure !== 0 && secure !== hosts.length) {
    throw new ConfigError(
      `CONFD_NODE: ${hosts.join(',')} mixes http and https etcd endpoints; the etcd client speaks one of them to every endpoint, so use one scheme`,
    );
  }
  return { hosts, secure: secure !== 0 };
}

function endpointOf(node: string, defaultScheme: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(node) ? node : `${defaultScheme}://${node}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new ConfigError(`CONFD_NODE: "${node}" is not an etcd address; use host:port, http://host:port or https://host:port`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`CONFD_NODE: "${node}" has the scheme ${url.protocol.slice(0, -1)}; etcd endpoints use http:// or https://`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new ConfigError(`CONFD_NODE: "${redact(node)}" carries credentials; give them in CONFD_USERNAME and CONFD_PASSWORD`);
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') {
    throw new ConfigError(`CONFD_NODE: "${node}" has a path; an etcd endpoint is only scheme://host:port`);
  }
  // URL drops the default port of the scheme (443 for https): keep what the user wrote.
  const port = url.port !== '' ? url.port : /:\d+\/?$/.test(withScheme) ? (url.protocol === 'https:' ? '443' : '80') : DEFAULT_PORT;
  return `${url.protocol}//${url.hostname}:${port}`;
}

function redact(node: string): string {
  return node.replace(/\/\/[^@/]*@/, '//***@');
}
