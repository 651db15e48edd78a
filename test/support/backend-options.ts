// Store and backend options as steward's settings would give them when nothing is set, for the
// backend and coordinator tests.

import type { BackendOptions } from '../../src/backends/backend.ts';
import type { StoreOptions } from '../../src/stores/types.ts';

export function storeOptions(overrides: Partial<StoreOptions> = {}): StoreOptions {
  return {
    nodes: [],
    scheme: 'http',
    tls: { cert: undefined, key: undefined, ca: undefined },
    username: undefined,
    password: undefined,
    token: undefined,
    ...overrides,
  };
}

export function backendOptions(overrides: Partial<BackendOptions> = {}): BackendOptions {
  return { ...storeOptions(), files: [], env: {}, ...overrides };
}
