// Where services are registered and read, and opening that store: Consul's local agent
// (STEWARD_CONSUL_ADDR), etcd (CONFD_NODE, with its TLS and login) or the shared directory
// (STEWARD_LOCK_DIR). The store's client is loaded only here, only when it is used.

import { existsSync, statSync } from 'node:fs';
import type { ElectionBackendName, OptionKey, Settings } from '../config/options.ts';
import type { SettingSource } from '../config/settings.ts';
import type { Clock } from '../core/clock.ts';
import { ConfigError } from '../core/exit-codes.ts';
import type { Logger } from '../core/log.ts';
import { electionBackend } from '../cluster/select-coordinator.ts';
import { storeOptions } from '../stores/options.ts';
import type { Catalog } from './catalog.ts';
import type { Registrar } from './registrar.ts';
import type { ServiceSpec } from './service-spec.ts';

export function serviceStore(settings: Settings, sources: ReadonlyMap<OptionKey, SettingSource>): ElectionBackendName {
  return settings.serviceBackend ?? electionBackend(settings, sources);
}

/** STEWARD_CONSUL_ADDR, else CONSUL_HTTP_ADDR (its alias), else CONFD_NODE's first agent when the backend is consul, else the local agent. */
export function consulAgentAddress(settings: Settings): string {
  if (settings.consulAddr !== undefined) return settings.consulAddr;
  if (settings.backend === 'consul' && settings.node.length > 0 && settings.node[0] !== '') return settings.node[0] as string;
  return '127.0.0.1:8500';
}

async function consulHttp(settings: Settings) {
  const { parseConsulNode } = await import('../stores/consul/nodes.ts');
  const { readConsulTls } = await import('../stores/consul/connection.ts');
  const { consulAgentHttp } = await import('../stores/consul/agent-http.ts');
  const node = parseConsulNode(consulAgentAddress(settings), settings.scheme);
  return consulAgentHttp(node, readConsulTls(storeOptions(settings).tls), settings.token);
}

function sharedDir(settings: Settings): string {
  const dir = settings.lockDir;
  if (dir === undefined) throw new ConfigError('STEWARD_LOCK_DIR: the file service registry needs a directory on a volume shared by the replicas (or set STEWARD_SERVICE_BACKEND=etcd|consul)');
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ConfigError(`STEWARD_LOCK_DIR: ${dir} is not a directory`);
  return dir;
}

export async function openRegistrar(settings: Settings, sources: ReadonlyMap<OptionKey, SettingSource>, spec: ServiceSpec): Promise<Registrar> {
  switch (serviceStore(settings, sources)) {
    case 'consul': {
      const { consulRegistrar } = await import('./consul-registrar.ts');
      return consulRegistrar(spec, await consulHttp(settings));
    }
    case 'etcd': {
      const { etcdConnection } = await import('../stores/etcd/connection.ts');
      const { etcdRegistrar } = await import('./etcd-registrar.ts');
      const connection = etcdConnection(storeOptions(settings), { requestTimeoutMs: 5000, keepaliveTimeMs: 10_000, keepaliveTimeoutMs: 3000 });
      const driver = await connection.load();
      return etcdRegistrar(spec, settings.keyPrefix, driver.connect(connection.hosts), connection.source);
    }
    case 'file': {
      const { fileRegistrar } = await import('./file-registrar.ts');
      return fileRegistrar(spec, sharedDir(settings));
    }
  }
}

export async function openCatalog(
  settings: Settings,
  sources: ReadonlyMap<OptionKey, SettingSource>,
  env: Readonly<Record<string, string | undefined>>,
  clock: Clock,
  log: Logger,
): Promise<Catalog> {
  switch (serviceStore(settings, sources)) {
    case 'consul': {
      const { consulCatalog } = await import('./consul-catalog.ts');
      return consulCatalog(await consulHttp(settings), log);
    }
    case 'etcd': {
      const { createEtcdBackend } = await import('../backends/etcd.ts');
      const { backendOptions } = await import('../backends/select.ts');
      const { etcdCatalog } = await import('./etcd-catalog.ts');
      return etcdCatalog(createEtcdBackend(backendOptions(settings, env)), settings.keyPrefix, log);
    }
    case 'file': {
      const { fileCatalog } = await import('./file-catalog.ts');
      return fileCatalog(sharedDir(settings), clock, log);
    }
  }
}
