// A store that refuses steward's credentials is a configuration error: steward exits 78 at once,
// naming the settings and never their values, instead of retrying until STEWARD_CONFIG_TIMEOUT
// and calling the store "unreachable" (69).

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { makeConfdir } from '../support/confdir.ts';
import { startConsulDouble, type ConsulDouble } from '../support/consul/double.ts';
import { etcdSkipReason, startEtcd, type EtcdServer } from '../support/etcd.ts';
import { APP, NODE, runSteward, stopAllStewards } from '../support/steward.ts';

afterEach(stopAllStewards);

const RESOURCE = '[template]\nsrc = "app.tmpl"\ndest = "$OUT/app.conf"\nkeys = ["/app"]\n';
const TEMPLATE = 'host={{ getv "/app/host" }}\n';
/** Far longer than the test may take: an exit before it is not a timeout. */
const CONFIG_TIMEOUT = '120s';

function confdir(): string {
  return makeConfdir({ 'app.toml': RESOURCE }, { 'app.tmpl': TEMPLATE }).dir;
}

describe('a wrong etcd password', { skip: etcdSkipReason() }, () => {
  let etcd: EtcdServer;
  before(async () => {
    etcd = await startEtcd();
    await etcd.put('/app/host', 'db1');
    await etcd.enableAuth('root', 'right-password');
  });
  after(async () => {
    await etcd?.stop();
  });

  it('is exit 78 at once, naming the settings and not the password', async () => {
    const started = Date.now();
    const r = await runSteward([NODE, APP], {
      env: {
        CONFD_CONFDIR: confdir(),
        CONFD_BACKEND: 'etcdv3',
        CONFD_NODE: etcd.endpoint,
        CONFD_USERNAME: 'root',
        CONFD_PASSWORD: 'Wr0ngPassw0rd',
        STEWARD_CONFIG_TIMEOUT: CONFIG_TIMEOUT,
      },
    });
    assert.equal(r.code, 78, r.stderr);
    assert.ok(Date.now() - started < 60_000, 'steward did not retry until the timeout');
    assert.match(r.stderr, /refused steward's credentials/);
    assert.match(r.stderr, /CONFD_PASSWORD/);
    assert.doesNotMatch(r.stderr, /Wr0ngPassw0rd/);
    assert.ok(!r.stdout.some((l) => l.startsWith('ready')), 'the app did not start');
  });

  it('is exit 78 without a login where authentication is on', async () => {
    const r = await runSteward([NODE, APP], {
      env: { CONFD_CONFDIR: confdir(), CONFD_BACKEND: 'etcdv3', CONFD_NODE: etcd.endpoint, STEWARD_CONFIG_TIMEOUT: CONFIG_TIMEOUT },
    });
    assert.equal(r.code, 78, r.stderr);
    assert.match(r.stderr, /CONFD_USERNAME/);
  });
});

describe('a Consul token the ACLs refuse', () => {
  let consul: ConsulDouble;
  before(async () => {
    consul = await startConsulDouble({ aclToken: 'the-right-token' });
    consul.put('app/host', 'db1');
  });
  after(async () => {
    await consul?.stop();
  });

  it('is exit 78 at once, naming the setting and not the token', async () => {
    const r = await runSteward([NODE, APP], {
      env: {
        CONFD_CONFDIR: confdir(),
        CONFD_BACKEND: 'consul',
        CONFD_NODE: consul.address,
        CONSUL_HTTP_TOKEN: 'Wr0ngT0ken',
        STEWARD_CONFIG_TIMEOUT: CONFIG_TIMEOUT,
      },
    });
    assert.equal(r.code, 78, r.stderr);
    assert.match(r.stderr, /refused steward's ACL token \(.*403 ACL not found\)/);
    assert.match(r.stderr, /CONSUL_HTTP_TOKEN/);
    assert.doesNotMatch(r.stderr, /Wr0ngT0ken/);
  });
});
