// BackendOptions as steward's settings would give them when nothing is set, for backend tests.

import type { BackendOptions } from '../../src/backends/backend.ts';

export function backendOptions(overrides: Partial<BackendOptions> = {}): BackendOptions {
  return {
    nodes: [],
    scheme: 'http',
    files: [],
    tls: { cert: undefined, key: undefined, ca: undefined },
    username: undefined,
    password: undefined,
    token: undefined,
    env: {},
    ...overrides,
  };
}
