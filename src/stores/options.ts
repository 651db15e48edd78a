// The one place steward's settings become a store's connection options, for the template backend
// and the coordinator alike (they may talk to the same etcd or Consul).

import type { Settings } from '../config/options.ts';
import type { StoreOptions } from './types.ts';

export function storeOptions(settings: Settings): StoreOptions {
  return {
    nodes: settings.node,
    scheme: settings.scheme,
    tls: { cert: settings.clientCert, key: settings.clientKey, ca: settings.clientCakeys },
    username: settings.username,
    password: settings.password,
    token: settings.token,
  };
}
