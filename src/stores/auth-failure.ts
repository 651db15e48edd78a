// A store that refuses steward's credentials is a configuration error (exit 78), not an outage:
// no retry mends a wrong password or token. The message names the settings the credentials come
// from, never their values.

import { ConfigError } from '../core/exit-codes.ts';

const ETCD_SETTINGS = 'STEWARD_USERNAME/CONFD_USERNAME (--username) and STEWARD_PASSWORD/CONFD_PASSWORD (--password, or a _FILE form)';
const CONSUL_SETTINGS = 'STEWARD_TOKEN/CONSUL_HTTP_TOKEN (--token, or a _FILE form)';

/** etcd at `source` refused the login or the access; `detail` is etcd's own message. */
export function etcdAuthFailure(source: string, detail: string): ConfigError {
  return new ConfigError(`etcd at ${source} refused steward's credentials (${detail}); check ${ETCD_SETTINGS}`);
}

/** Consul answered 403 (an unknown token, or one without the ACL rights). */
export function consulAuthFailure(source: string, detail: string): ConfigError {
  return new ConfigError(`Consul at ${source} refused steward's ACL token (${detail}); check ${CONSUL_SETTINGS}`);
}
