// The confd-sidecar Prometheus example, as written, against the Consul double: CONFD_CONFDFILE_1
// and CONFD_TEMPLATE_1 carry the resource, the app starts on the rendered file and gets SIGHUP
// when the key changes.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { makeConfdir } from '../support/confdir.ts';
import { startConsulDouble, type ConsulDouble } from '../support/consul/double.ts';
import { APP, NODE, startSteward, stopAllStewards } from '../support/steward.ts';

afterEach(stopAllStewards);

describe('templates end to end (Consul double)', () => {
  let consul: ConsulDouble;
  before(async () => {
    consul = await startConsulDouble();
  });
  after(async () => {
    await consul?.stop();
  });

  it('runs the confd-sidecar Prometheus example', async () => {
    const c = makeConfdir();
    const dest = join(c.out, 'prometheus.yml');
    consul.put('prometheus/config/nodes', "['10.0.0.1:9100']");
    const s = startSteward([NODE, APP], {
      env: {
        CONFD_CONFDIR: join(c.dir, 'confd'),
        CONFD_NODE: consul.address,
        CONFD_CONFDFILE_1: `prometheus.toml\n[template]\nsrc = "prometheus.yml.tmpl"\ndest = "${dest}"\nkeys = ["/prometheus/config"]\n`,
        CONFD_TEMPLATE_1: 'prometheus.yml.tmpl\nscrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: {{ getv "/prometheus/config/nodes" }}\n',
        STEWARD_WAIT: '0',
        APP_WATCH_FILE: dest,
      },
    });
    await s.line(/^file=scrape_configs:\|  - job_name: node\|    static_configs:\|      - targets: \['10\.0\.0\.1:9100'\]\|$/);
    await s.line(/^ready/);
    consul.put('prometheus/config/nodes', "['10.0.0.1:9100', '10.0.0.2:9100']");
    await s.line(/targets: \['10\.0\.0\.1:9100', '10\.0\.0\.2:9100'\]/);
    assert.equal(s.stdoutLines().filter((l) => l === 'got SIGHUP').length, 1);
    await s.signal('SIGTERM');
    assert.equal((await s.exited).code, 0);
  });
});
