// Picks and loads the backend the settings name. Each backend module (and its client library)
// is imported only here, only when a run has template resources.

import type { Settings } from '../config/options.ts';
import { ConfigError } from '../core/exit-codes.ts';
import { storeOptions } from '../stores/options.ts';
import type { Backend, BackendOptions } from './backend.ts';

export function backendOptions(settings: Settings, env: Readonly<Record<string, string | undefined>>): BackendOptions {
  return {
    ...storeOptions(settings),
    files: settings.file,
    env,
  };
}

/** Starts loading the backend's client library early, to overlap it with other start-up work. */
export function preloadBackend(settings: Settings): Promise<unknown> {
  switch (settings.backend) {
    case 'etcd':
    case 'etcdv3':
      return import('./etcd.ts').then((m) => m.preloadEtcd());
    case 'consul':
      return import('./consul.ts').then((m) => m.preloadConsul());
    default:
      return Promise.resolve();
  }
}

export async function createBackend(settings: Settings, env: Readonly<Record<string, string | undefined>>): Promise<Backend> {
  const options = backendOptions(settings, env);
  switch (settings.backend) {
    case 'etcd':
    case 'etcdv3':
      return (await import('./etcd.ts')).createEtcdBackend(options);
    case 'consul':
      return (await import('./consul.ts')).createConsulBackend(options);
    case 'file':
      if (options.files.length === 0) throw new ConfigError('CONFD_FILE: the file backend needs at least one YAML or JSON file (comma-separated)');
      return (await import('./file.ts')).createFileBackend(options);
    case 'env':
      return (await import('./env.ts')).createEnvBackend(options);
  }
}
