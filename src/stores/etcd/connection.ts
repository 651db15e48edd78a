// Where etcd is and how to talk to it, built once from steward's options for the template backend
// and the coordinator alike: the endpoints, TLS material, login, and the timing of every call.
// The client's HTTP module (node:http, or node:https and TLS) is loaded when a client is first
// needed.

import { readFileSync } from 'node:fs';
import * as tls from 'node:tls';
import { ConfigError } from '../../core/exit-codes.ts';
import type { StoreOptions } from '../types.ts';
import type { EtcdDriver } from './client.ts';
import { loadGatewayDriver } from './gateway-client.ts';
import { parseEndpoints } from './endpoints.ts';

export type EtcdOptions = Pick<StoreOptions, 'nodes' | 'scheme' | 'tls' | 'username' | 'password'>;

export interface EtcdTiming {
  /** Deadline of every call but watches (a hung etcd would otherwise hang the call forever). */
  readonly requestTimeoutMs: number;
  /** A watch stream silent this long has its endpoint asked for a sign of life, which may take this long. */
  readonly keepaliveTimeMs: number;
  readonly keepaliveTimeoutMs: number;
}

export interface ConnectionSettings extends EtcdTiming {
  /** Present for https endpoints; the CA is the system's and Node's when none is given. */
  readonly credentials: { readonly rootCertificate: Buffer; readonly certChain?: Buffer; readonly privateKey?: Buffer } | undefined;
  readonly auth: { readonly username: string; readonly password: string } | undefined;
}

export interface EtcdConnection {
  /** `http://host:port` or `https://host:port`, one scheme for all. */
  readonly hosts: readonly string[];
  /** Where, for logs and messages (never credentials). */
  readonly source: string;
  /** The client with these settings, loaded on the first call. */
  load(): Promise<EtcdDriver>;
}

/** Starts loading the client early; connections work without it. */
export function preloadEtcd(): Promise<unknown> {
  return import('node:http');
}

export function etcdConnection(options: EtcdOptions, timing: EtcdTiming): EtcdConnection {
  const tlsFiles = options.tls.ca !== undefined || options.tls.cert !== undefined || options.tls.key !== undefined;
  const { hosts, secure } = parseEndpoints(options.nodes, options.scheme, tlsFiles);
  const settings: ConnectionSettings = {
    ...connectionSecrets(options, secure),
    requestTimeoutMs: timing.requestTimeoutMs,
    keepaliveTimeMs: timing.keepaliveTimeMs,
    keepaliveTimeoutMs: timing.keepaliveTimeoutMs,
  };
  let driver: Promise<EtcdDriver> | undefined;
  return { hosts, source: hosts.join(','), load: () => (driver ??= loadGatewayDriver(settings)) };
}

/** TLS material and credentials from the options; file errors name the variable and the file. */
function connectionSecrets(options: Pick<StoreOptions, 'tls' | 'username' | 'password'>, secure: boolean): Pick<ConnectionSettings, 'credentials' | 'auth'> {
  const { cert, key, ca } = options.tls;
  if ((cert === undefined) !== (key === undefined)) {
    throw new ConfigError(
      cert === undefined
        ? 'CONFD_CLIENT_CERT: a client key (CONFD_CLIENT_KEY) was given without its certificate'
        : 'CONFD_CLIENT_KEY: a client certificate (CONFD_CLIENT_CERT) was given without its key',
    );
  }
  const credentials: ConnectionSettings['credentials'] = secure
    ? {
        rootCertificate: ca === undefined ? defaultRoots() : readPem('CONFD_CLIENT_CAKEYS', ca),
        ...(cert !== undefined && key !== undefined
          ? { certChain: readPem('CONFD_CLIENT_CERT', cert), privateKey: readPem('CONFD_CLIENT_KEY', key) }
          : {}),
      }
    : undefined;
  const auth =
    options.username !== undefined && options.username !== ''
      ? { username: options.username, password: options.password ?? '' }
      : undefined;
  return { credentials, auth };
}

/** Without a CA file, Go's clientv3 trusts the system's CAs; Node adds its bundled ones. */
function defaultRoots(): Buffer {
  // getCACertificates() is Node >= 22.15; steward runs on >= 22.12.
  const certs =
    typeof tls.getCACertificates === 'function' ? [...tls.getCACertificates('default'), ...tls.getCACertificates('system')] : tls.rootCertificates;
  return Buffer.from(certs.join('\n'));
}

function readPem(variable: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new ConfigError(`${variable}: cannot read ${file} (${code})`);
  }
}
