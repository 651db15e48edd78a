// Go templates write bytes: values from etcd and Consul that are binary or not valid UTF-8, and
// template text that is not UTF-8, reach the rendered file byte for byte. A nunjucks resource,
// which renders text, refuses such a value by its key and keeps its last good file.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { makeConfdir } from '../support/confdir.ts';
import { startConsulDouble, type ConsulDouble } from '../support/consul/double.ts';
import { etcdSkipReason, startEtcd, type EtcdServer } from '../support/etcd.ts';
import { APP, NODE, runSteward, startSteward, stopAllStewards } from '../support/steward.ts';
import { until } from '../support/until.ts';

afterEach(stopAllStewards);

const BINARY = Buffer.from('41fffe0001c3285a', 'hex');
const TEXT = Buffer.from('é€', 'utf8');
// The template's own text holds bytes that are not UTF-8 (ff fe) too.
const TEMPLATE = Buffer.concat([
  Buffer.from('bin={{ getv "/app/bin" }}|len={{ len (getv "/app/bin") }}|q={{ printf "%q" (getv "/app/bin") }}|x={{ printf "%x" (getv "/app/text") }}|'),
  Buffer.from('fffe', 'hex'),
  Buffer.from(' raw\n'),
]);
// What Go 1.19's text/template writes for it (as in test/render/fixtures/go-bytes.json).
function expected(bin: Buffer): Buffer {
  const quoted = `"${[...bin].map((b) => (b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('')}"`;
  return Buffer.concat([
    Buffer.from('bin='),
    bin,
    Buffer.from(`|len=${bin.length}|q=${quoted}|x=c3a9e282ac|`),
    Buffer.from('fffe', 'hex'),
    Buffer.from(' raw\n'),
  ]);
}

function confdir(resource: string, template: Buffer, name = 'app.tmpl'): { dir: string; dest: string; out: string } {
  const c = makeConfdir({ 'app.toml': resource });
  writeFileSync(join(c.dir, 'templates', name), template);
  return { dir: c.dir, dest: join(c.out, 'app.conf'), out: c.out };
}

const GO_RESOURCE = '[template]\nsrc = "app.tmpl"\ndest = "$OUT/app.conf"\nkeys = ["/app"]\n';

function hex(b: Buffer): string {
  return b.toString('hex');
}

describe('Go templates write bytes (etcd)', { skip: etcdSkipReason() }, () => {
  let etcd: EtcdServer;
  before(async () => {
    etcd = await startEtcd();
  });
  after(async () => {
    await etcd?.stop();
  });

  it('renders binary and invalid UTF-8 values and template bytes exactly, at start and on a change', async () => {
    await etcd.put('/app/bin', BINARY);
    await etcd.put('/app/text', TEXT);
    const c = confdir(GO_RESOURCE, TEMPLATE);
    const once = await runSteward(['--once'], { env: { CONFD_CONFDIR: c.dir, CONFD_BACKEND: 'etcdv3', CONFD_NODE: etcd.endpoint }, pid1: false });
    assert.equal(once.code, 0, once.stderr);
    assert.equal(hex(readFileSync(c.dest)), hex(expected(BINARY)));

    const s = startSteward([NODE, APP], { env: { CONFD_CONFDIR: c.dir, CONFD_BACKEND: 'etcdv3', CONFD_NODE: etcd.endpoint, STEWARD_WAIT: '0' } });
    await s.line(/^ready/);
    const changed = Buffer.from('ff00c3fe80', 'hex');
    await etcd.put('/app/bin', changed);
    await until('the watched change to be rendered', () => hex(readFileSync(c.dest)) === hex(expected(changed)));
    await s.signal('SIGTERM');
    assert.equal((await s.exited).code, 0);
  });

  it('refuses a value that is not UTF-8 in a nunjucks resource, naming the key and not the value', async () => {
    await etcd.put('/nj/v', 'fine');
    const c = confdir('[template]\nsrc = "app.njk"\ndest = "$OUT/app.conf"\nkeys = ["/nj"]\n', Buffer.from('v={{ getv("/nj/v") }}\n'), 'app.njk');
    const s = startSteward([NODE, APP], { env: { CONFD_CONFDIR: c.dir, CONFD_BACKEND: 'etcdv3', CONFD_NODE: etcd.endpoint, STEWARD_WAIT: '0' } });
    await s.line(/^ready/);
    assert.equal(readFileSync(c.dest, 'utf8'), 'v=fine\n');
    await etcd.put('/nj/v', Buffer.concat([Buffer.from('S3CRET'), Buffer.from('ff', 'hex')]));
    await until('the refusal to be logged', () => /\/nj\/v is not valid UTF-8/.test(s.stderr()));
    assert.doesNotMatch(s.stderr(), /S3CRET/);
    assert.equal(readFileSync(c.dest, 'utf8'), 'v=fine\n');
    assert.ok(!s.stdoutLines().includes('got SIGHUP'), 'the app was not signalled');
    await s.signal('SIGTERM');
    assert.equal((await s.exited).code, 0);
  });
});

describe('Go templates write bytes (Consul double)', () => {
  let consul: ConsulDouble;
  before(async () => {
    consul = await startConsulDouble();
  });
  after(async () => {
    await consul?.stop();
  });

  it('renders binary and invalid UTF-8 values exactly, at start and on a change', async () => {
    consul.put('app/bin', BINARY);
    consul.put('app/text', TEXT);
    const c = confdir(GO_RESOURCE, TEMPLATE);
    const env = { CONFD_CONFDIR: c.dir, CONFD_BACKEND: 'consul', CONFD_NODE: consul.address, STEWARD_WAIT: '0' };
    const once = await runSteward(['--once'], { env, pid1: false });
    assert.equal(once.code, 0, once.stderr);
    assert.equal(hex(readFileSync(c.dest)), hex(expected(BINARY)));

    const s = startSteward([NODE, APP], { env });
    await s.line(/^ready/);
    const changed = Buffer.from('00ffc3', 'hex');
    consul.put('app/bin', changed);
    await until('the watched change to be rendered', () => hex(readFileSync(c.dest)) === hex(expected(changed)));
    await s.signal('SIGTERM');
    assert.equal((await s.exited).code, 0);
  });
});
