// What the discovery tests share: backends (the health tests' web app) registering through
// steward, a steward rendering a template over `service`, and reading a store's registry.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NODE, startSteward, type RunningSteward } from '../support/steward.ts';
import { WEB_APP } from '../health/fixtures/harness.ts';

export { freePort, tempDir } from '../health/fixtures/harness.ts';

/** A backend: the web app on `port`, registered as `name` with id `id`, its health from HTTP. */
export function startBackend(store: Record<string, string>, o: { name: string; id: string; port: number; extra?: Record<string, string> }): RunningSteward {
  return startSteward([NODE, WEB_APP], {
    env: {
      ...store,
      APP_PORT: String(o.port),
      STEWARD_SERVICE_NAME: o.name,
      STEWARD_SERVICE_ID: o.id,
      STEWARD_SERVICE_PORT: String(o.port),
      STEWARD_SERVICE_ADDRESS: '127.0.0.1',
      STEWARD_SERVICE_TAGS: 'b,a',
      STEWARD_HEALTH_HTTP: `http://127.0.0.1:${o.port}/`,
      STEWARD_HEALTH_INTERVAL: '200ms',
      STEWARD_HEALTH_START_INTERVAL: '100ms',
      STEWARD_HEALTH_RETRIES: '1',
      STEWARD_SERVICE_TTL: '2s',
      STEWARD_DEREGISTER_DELAY: '300ms',
      STEWARD_LOG_LEVEL: 'debug',
      ...o.extra,
    },
  });
}

/** The shared directory's record of `id`, or undefined. */
export function fileRecord(dir: string, name: string, id: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, 'services', name, id), 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** One resource rendering `template` (Go engine) to $OUT/<dest>. */
export function serviceResource(dest: string, extra = ''): string {
  return `[template]\nsrc = "services.tmpl"\ndest = "$OUT/${dest}"\nkeys = []\n${extra}`;
}

export const SERVICE_TEMPLATE = '{{ range service "web" }}{{ .ID }} {{ .Name }} {{ .Address }}:{{ .Port }} {{ .Status }} [{{ join .Tags "," }}]\n{{ end }}' +
  '{{ range services }}{{ .Name }}={{ join .Tags "," }};{{ end }}\n';
