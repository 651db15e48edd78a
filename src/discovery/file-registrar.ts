// Registration in the shared directory: <STEWARD_LOCK_DIR>/services/<name>/<id>, written
// atomically every half TTL with the health state and the TTL. Readers (file-catalog.ts) ignore
// a record whose file was not refreshed within its TTL: a steward that dies stops refreshing.

import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic-file.ts';
import type { Registrar } from './registrar.ts';
import { storedInstance, type ServiceSpec, type ServiceState } from './service-spec.ts';

export function serviceFile(dir: string, spec: Pick<ServiceSpec, 'name' | 'id'>): string {
  return join(dir, 'services', spec.name, spec.id);
}

export function fileRegistrar(spec: ServiceSpec, dir: string): Registrar {
  const path = serviceFile(dir, spec);
  return {
    where: path,
    async put(state: ServiceState) {
      writeFileAtomic(path, `${JSON.stringify(storedInstance(spec, state))}\n`);
    },
    async deregister() {
      await rm(path, { force: true });
    },
    async close() {},
  };
}
