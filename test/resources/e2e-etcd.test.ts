// steward end to end against a real etcd: the app starts on rendered files, hears of real
// changes once, and keeps running on its last good files while etcd is gone.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { makeConfdir } from '../support/confdir.ts';
import { etcdSkipReason, startEtcd, type EtcdServer } from '../support/etcd.ts';
import { APP, NODE, logRecords, startSteward, stopAllStewards, type RunningSteward } from '../support/steward.ts';
import { until } from '../support/until.ts';

afterEach(stopAllStewards);

const RESOURCE = '[template]\nsrc = "app.tmpl"\ndest = "$OUT/app.conf"\nkeys = ["/app"]\n';
const TEMPLATE = 'host={{ getv "/app/host" }}\n';

describe('templates end to end (etcd)', { skip: etcdSkipReason() }, () => {
  let etcd: EtcdServer;
  before(async () => {
    etcd = await startEtcd();
  });
  after(async () => {
    await etcd?.stop();
  });

  function start(env: Record<string, string> = {}): { s: RunningSteward; dest: string } {
    const c = makeConfdir({ 'app.toml': RESOURCE }, { 'app.tmpl': TEMPLATE });
    const dest = join(c.out, 'app.conf');
    const s = startSteward([NODE, APP], {
      env: { CONFD_CONFDIR: c.dir, CONFD_BACKEND: 'etcdv3', CONFD_NODE: etcd.endpoint, STEWARD_WAIT: '0', APP_WATCH_FILE: dest, ...env },
    });
    return { s, dest };
  }

  it('renders before start and sends one SIGHUP per real change', async () => {
    await etcd.put('/app/host', 'db1');
    const { s } = start();
    await s.line(/^file=host=db1\|$/);
    await s.line(/^ready/);
    await etcd.put('/app/host', 'db2');
    await s.line(/^file=host=db2\|$/);
    await etcd.put('/app/host', 'db2');
    await etcd.put('/app/host', 'db3');
    await s.line(/^file=host=db3\|$/);
    assert.equal(s.stdoutLines().filter((l) => l === 'got SIGHUP').length, 2);
    await s.signal('SIGTERM');
    assert.equal((await s.exited).code, 0);
  });

  it('turns 100 writes in about a second into at most 2 reloads, with the last value on disk', async () => {
    await etcd.put('/app/host', 'v0');
    const { s, dest } = start({ STEWARD_WAIT: '200ms:2s' });
    await s.line(/^ready/);
    for (let i = 1; i <= 100; i++) {
      await etcd.put('/app/host', `v${i}`);
      // The pace of the burst is what is under test (spread over about a second), not a wait.
      await new Promise((r) => setTimeout(r, 8));
    }
    await s.line(/^file=host=v100\|$/);
    // Nothing else is coming: the file already has the last value, and a later reload would
    // need a later change.
    assert.equal(readFileSync(dest, 'utf8'), 'host=v100\n');
    const reloads = s.stdoutLines().filter((l) => l === 'got SIGHUP').length;
    assert.ok(reloads >= 1 && reloads <= 2, `${reloads} reloads`);
    await s.signal('SIGTERM');
    await s.exited;
  });

  it('keeps the app on its files while etcd is down, then catches up when it is back', async () => {
    await etcd.put('/app/host', 'before');
    const { s, dest } = start();
    await s.line(/^ready/);
    await etcd.kill('SIGKILL');
    await until('steward to notice etcd is gone', () => logRecords(s.stderr()).some((l) => /unreachable; the app keeps its last good files/.test(String(l['msg']))));
    assert.equal(readFileSync(dest, 'utf8'), 'host=before\n');
    assert.ok(!s.stdoutLines().includes('got SIGHUP'), 'the app was not signalled');
    await etcd.restart();
    await etcd.put('/app/host', 'after');
    await s.line(/^file=host=after\|$/);
    assert.equal(s.stdoutLines().filter((l) => l === 'got SIGHUP').length, 1);
    await s.signal('SIGTERM');
    assert.equal((await s.exited).code, 0);
  });

  it('runs the confd-sidecar Prometheus example as written (CONFD_CONFDFILE_1 / CONFD_TEMPLATE_1)', async () => {
    const c = makeConfdir();
    const dest = join(c.out, 'prometheus.yml');
    await etcd.put('/prometheus/config/nodes', "['10.0.0.1:9100']");
    const s = startSteward([NODE, APP], {
      env: {
        CONFD_CONFDIR: join(c.dir, 'confd'),
        CONFD_BACKEND: 'etcd',
        CONFD_NODE: etcd.endpoint,
        CONFD_CONFDFILE_1: `prometheus.toml\n[template]\nsrc = "prometheus.yml.tmpl"\ndest = "${dest}"\nkeys = ["/prometheus/config"]\n`,
        CONFD_TEMPLATE_1: 'prometheus.yml.tmpl\nscrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: {{ getv "/prometheus/config/nodes" }}\n',
        STEWARD_WAIT: '0',
        APP_WATCH_FILE: dest,
      },
    });
    await s.line(/^file=scrape_configs:\|  - job_name: node\|    static_configs:\|      - targets: \['10\.0\.0\.1:9100'\]\|$/);
    await s.line(/^ready/);
    await etcd.put('/prometheus/config/nodes', "['10.0.0.1:9100', '10.0.0.2:9100']");
    await s.line(/targets: \['10\.0\.0\.1:9100', '10\.0\.0\.2:9100'\]/);
    assert.equal(s.stdoutLines().filter((l) => l === 'got SIGHUP').length, 1);
    await s.signal('SIGTERM');
    assert.equal((await s.exited).code, 0);
  });

  it('exits 69 when etcd cannot be reached within STEWARD_CONFIG_TIMEOUT, and starts nothing', async () => {
    const c = makeConfdir({ 'app.toml': RESOURCE }, { 'app.tmpl': TEMPLATE });
    const s = startSteward(['sh', '-c', 'echo started'], {
      env: { CONFD_CONFDIR: c.dir, CONFD_BACKEND: 'etcd', CONFD_NODE: '127.0.0.1:1', STEWARD_CONFIG_TIMEOUT: '1s' },
    });
    const exit = await s.exited;
    assert.equal(exit.code, 69);
    assert.match(s.stderr(), /steward: cannot reach the etcd backend at .*127\.0\.0\.1:1 within 1s/);
    assert.deepEqual(s.stdoutLines(), []);
  });
});
