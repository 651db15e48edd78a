// One template, every store: the same `service`/`services` template gives the same output over
// the shared directory, etcd and the Consul double (only passing instances by default, sorted
// as consul-template sorts them, tags sorted; "web|any" takes every instance). A change in the
// catalog renders again the templates that call these functions, and only them.

import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeConfdir } from '../support/confdir.ts';
import { APP, NODE, startSteward, stopAllStewards } from '../support/steward.ts';
import { etcdAvailable } from '../support/etcd.ts';
import { until } from '../support/until.ts';
import { freePort, serviceResource, startBackend } from './harness.ts';
import { consulStore, etcdStore, fileStore, type TestStore } from './stores.ts';

afterEach(stopAllStewards);
after(stopAllStewards);

const TEMPLATE = [
  '{{ range service "web" }}{{ .ID }} {{ .Name }} {{ .Address }}:{{ .Port }} {{ .Status }} [{{ join .Tags "," }}] {{ index .ServiceMeta "zone" }}',
  '{{ end }}any:{{ range service "web|any" }} {{ .ID }}={{ .Status }}{{ end }}',
  'tagged:{{ range service "c.web" }} {{ .ID }}{{ end }}',
  '{{ range services }}{{ .Name }}=[{{ join .Tags "," }}] {{ end }}',
  '',
].join('\n');

/** What the reader renders once web-2, web-1 (passing) and web-3 (sick) are registered, and once web-4 joins. */
async function render(store: TestStore): Promise<{ first: string; second: string; clockUnchanged: boolean }> {
  const extra = { STEWARD_SERVICE_META_zone: 'z1' };
  const ports = [await freePort(), await freePort(), await freePort(), await freePort()];
  startBackend(store.env, { name: 'web', id: 'web-2', port: ports[1] as number, extra: { ...extra, STEWARD_SERVICE_TAGS: 'c' } });
  startBackend(store.env, { name: 'web', id: 'web-1', port: ports[0] as number, extra });
  startBackend(store.env, { name: 'web', id: 'web-3', port: ports[2] as number, extra: { ...extra, APP_SICK: '1' } });
  await until('three registrations', async () =>
    (await store.status('web', 'web-1')) === 'passing' && (await store.status('web', 'web-2')) === 'passing' && (await store.status('web', 'web-3')) === 'critical', 20_000);
  const confdir = makeConfdir(
    { 'services.toml': serviceResource('services.txt'), 'clock.toml': '[template]\nsrc = "clock.tmpl"\ndest = "$OUT/clock.txt"\nkeys = []\n' },
    { 'services.tmpl': TEMPLATE, 'clock.tmpl': '{{ datetime }}\n' },
  );
  const reader = startSteward([NODE, APP], { env: { ...store.env, CONFD_CONFDIR: confdir.dir, STEWARD_LOG_LEVEL: 'debug' } });
  await reader.line(/^ready/);
  const out = join(confdir.out, 'services.txt');
  const clock = readFileSync(join(confdir.out, 'clock.txt'), 'utf8');
  const first = readFileSync(out, 'utf8');
  startBackend(store.env, { name: 'web', id: 'web-4', port: ports[3] as number, extra });
  const second = await until('web-4 in the output', () => {
    const text = readFileSync(out, 'utf8');
    return text.includes('web-4 web') ? text : undefined;
  }, 20_000);
  await reader.line(/^got SIGHUP/);
  return { first, second, clockUnchanged: readFileSync(join(confdir.out, 'clock.txt'), 'utf8') === clock };
}

test('the same template gives the same output over the shared directory, etcd and Consul', async () => {
  const stores: TestStore[] = [fileStore(), await consulStore()];
  if (etcdAvailable()) stores.push(await etcdStore());
  try {
    const results = [];
    for (const store of stores) {
      results.push({ store: store.name, ...(await render(store)) });
      await stopAllStewards();
    }
    const [file] = results;
    assert.equal(
      file?.first,
      'web-1 web 127.0.0.1:' + file?.first.split('\n')[0]?.split(':')[1]?.split(' ')[0] + ' passing [a,b] z1\n' +
        file?.first.split('\n')[1] + '\n' +
        'any: web-1=passing web-2=passing web-3=critical\n' +
        'tagged: web-2\n' +
        'web=[a,b,c] \n',
    );
    assert.match(file?.first.split('\n')[1] ?? '', /^web-2 web 127\.0\.0\.1:\d+ passing \[c\] z1$/);
    for (const r of results) {
      const normalise = (text: string) => text.replace(/:\d+ /g, ':PORT ');
      assert.equal(normalise(r.first), normalise(file?.first ?? ''), `${r.store} renders as the shared directory does`);
      assert.equal(normalise(r.second), normalise(file?.second ?? ''), `${r.store} renders the change as the shared directory does`);
      assert.ok(r.clockUnchanged, `${r.store}: a template that does not call service is not rendered again`);
    }
  } finally {
    for (const store of stores) await store.stop();
  }
});
