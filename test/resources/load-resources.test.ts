// confd's template resource TOML, with confd's semantics and steward's own keys.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/core/exit-codes.ts';
import { loadResources, parseConfdMode } from '../../src/resources/load-resources.ts';
import { recordingLogger } from '../support/logs.ts';

function confdir(resources: Record<string, string>, templates: string[] = ['app.tmpl', 'app.conf.njk']): string {
  const dir = mkdtempSync(join(tmpdir(), 'steward-res-'));
  mkdirSync(join(dir, 'conf.d'), { recursive: true });
  mkdirSync(join(dir, 'templates'), { recursive: true });
  for (const t of templates) writeFileSync(join(dir, 'templates', t), 'x');
  for (const [name, text] of Object.entries(resources)) {
    mkdirSync(join(dir, 'conf.d', name, '..'), { recursive: true });
    writeFileSync(join(dir, 'conf.d', name), text);
  }
  return dir;
}

describe('template resources', () => {
  it('reads confd\'s keys with confd\'s meaning', () => {
    const dir = confdir({
      'app.toml': `[template]\nsrc = "app.tmpl"\ndest = "/tmp/app.conf"\nkeys = ["/db", "/cache/"]\nprefix = "myapp"\nmode = "0600"\nuid = 10\ngid = 20\ncheck_cmd = "test -s {{.src}}"\nreload_cmd = "kill -HUP $(cat /run/app.pid)"\n`,
    });
    const log = recordingLogger();
    const [r] = loadResources({ confdir: dir, prefix: undefined, log });
    assert.ok(r);
    assert.equal(r.src, join(dir, 'templates', 'app.tmpl'));
    assert.equal(r.prefix, '/myapp');
    assert.deepEqual(r.backendKeys, ['/myapp/db', '/myapp/cache']);
    assert.equal(r.mode, 0o600);
    assert.equal(r.uid, 10);
    assert.equal(r.gid, 20);
    assert.equal(r.engine, 'go');
    assert.deepEqual(r.reload, { kind: 'signal', signal: 'SIGHUP' });
    assert.equal(r.wait, undefined);
    assert.deepEqual(log.records, []);
  });

  it('lets a global prefix replace the resource prefix, as confd does', () => {
    const dir = confdir({ 'a.toml': '[template]\nsrc = "app.tmpl"\ndest = "/tmp/a"\nkeys = ["/k"]\nprefix = "/mine"\n' });
    const [r] = loadResources({ confdir: dir, prefix: '/global', log: recordingLogger() });
    assert.deepEqual(r?.backendKeys, ['/global/k']);
    const [plain] = loadResources({ confdir: confdir({ 'b.toml': '[template]\nsrc = "app.tmpl"\ndest = "/tmp/b"\nkeys = ["/k"]\n' }), prefix: undefined, log: recordingLogger() });
    assert.equal(plain?.prefix, '/');
    assert.deepEqual(plain?.backendKeys, ['/k']);
  });

  it('takes steward\'s keys: reload, wait, engine; .njk templates default to nunjucks', () => {
    const dir = confdir({
      'a.toml': '[template]\nsrc = "app.conf.njk"\ndest = "/tmp/a"\nkeys = ["/k"]\nreload = "restart"\nwait = "1s:5s"\n',
      'b.toml': '[template]\nsrc = "app.tmpl"\ndest = "/tmp/b"\nreload = "USR2"\nengine = "nunjucks"\n',
      'c.toml': '[template]\nsrc = "app.tmpl"\ndest = "/tmp/c"\nreload = "none"\n',
    });
    const [a, b, c] = loadResources({ confdir: dir, prefix: undefined, log: recordingLogger() });
    assert.equal(a?.engine, 'nunjucks');
    assert.deepEqual(a?.reload, { kind: 'restart' });
    assert.deepEqual(a?.wait, { minMs: 1000, maxMs: 5000 });
    assert.equal(b?.engine, 'nunjucks');
    assert.deepEqual(b?.reload, { kind: 'signal', signal: 'SIGUSR2' });
    assert.deepEqual(c?.reload, { kind: 'none' });
  });

  it('warns about unknown keys, naming them and the file', () => {
    const dir = confdir({ 'a.toml': '[template]\nsrc = "app.tmpl"\ndest = "/tmp/a"\nowner = "nginx"\n' });
    const log = recordingLogger();
    loadResources({ confdir: dir, prefix: undefined, log });
    assert.equal(log.records.length, 1);
    assert.match(log.records[0]?.msg ?? '', /a\.toml: unknown key "owner" is ignored/);
  });

  it('finds resources in subdirectories, sorted, by the *toml glob', () => {
    const dir = confdir({ 'z.toml': '[template]\nsrc = "app.tmpl"\ndest = "/tmp/z"\n', 'sub/a.toml': '[template]\nsrc = "app.tmpl"\ndest = "/tmp/sa"\n', 'notes.txt': 'x' });
    assert.deepEqual(loadResources({ confdir: dir, prefix: undefined, log: recordingLogger() }).map((r) => r.name), ['sub/a.toml', 'z.toml']);
  });

  const bad: [string, RegExp][] = [
    ['[template]\nsrc = "app.tmpl"\ndest = \n', /a\.toml:3:\d+: Invalid TOML document/],
    ['[template]\ndest = "/tmp/a"\n', /a\.toml: src is missing/],
    ['[template]\nsrc = "app.tmpl"\n', /a\.toml: dest is missing/],
    ['[template]\nsrc = "nope.tmpl"\ndest = "/tmp/a"\n', /template .*nope\.tmpl does not exist/],
    ['[template]\nsrc = "app.tmpl"\ndest = "/tmp/a"\nkeys = "/k"\n', /a\.toml: keys must be an array of strings/],
    ['[template]\nsrc = "app.tmpl"\ndest = "/tmp/a"\nmode = "rw"\n', /invalid mode "rw"/],
    ['[template]\nsrc = "app.tmpl"\ndest = "/tmp/a"\nreload = "bounce"\n', /invalid reload "bounce"/],
    ['[template]\nsrc = "app.tmpl"\ndest = "/tmp/a"\nwait = "soon"\n', /invalid duration "soon"/],
    ['[template]\nsrc = "app.tmpl"\ndest = "/tmp/a"\nengine = "jinja"\n', /a\.toml: engine must be one of "go", "nunjucks"/],
    ['src = "app.tmpl"\n', /no \[template\] table/],
    ['[template]\nsrc = "../../../../etc/passwd"\ndest = "/tmp/a"\n', /a\.toml: src "\.\.\/\.\.\/\.\.\/\.\.\/etc\/passwd" is outside .*\/templates/],
    ['[template]\nsrc = "sub/../../app.tmpl"\ndest = "/tmp/a"\n', /a\.toml: src "sub\/\.\.\/\.\.\/app\.tmpl" is outside/],
    ['[template]\nsrc = "app.tmpl"\ndest = "/tmp/a;b/x.conf"\ncheck_cmd = "test -s {{.src}}"\n', /a\.toml: the directory of dest "\/tmp\/a;b\/x\.conf" has characters a shell would interpret/],
    ['[template]\nsrc = "app.tmpl"\ndest = "/tmp/a b/$(id)/x.conf"\n', /a\.toml: the directory of dest "\/tmp\/a b\/\$\(id\)\/x\.conf" has characters a shell would interpret/],
  ];
  for (const [text, message] of bad) {
    it(`refuses ${JSON.stringify(text.split('\n').slice(1).join(' ').slice(0, 40))} with a ConfigError naming the file`, () => {
      const dir = confdir({ 'a.toml': text });
      assert.throws(() => loadResources({ confdir: dir, prefix: undefined, log: recordingLogger() }), (e: unknown) => e instanceof ConfigError && message.test(e.message));
    });
  }
});

describe('mode, read as confd reads it (Go ParseUint base 0)', () => {
  it('reads octal, hex and binary forms', () => {
    const log = recordingLogger();
    assert.equal(parseConfdMode('0644', 'x', log), 0o644);
    assert.equal(parseConfdMode('0o600', 'x', log), 0o600);
    assert.equal(parseConfdMode('0x1a4', 'x', log), 0o644);
    assert.equal(parseConfdMode(0o640, 'x', log), 0o640);
    assert.deepEqual(log.records, []);
  });
  it('reads "644" as decimal like confd, keeps only permission bits, and warns', () => {
    const log = recordingLogger();
    assert.equal(parseConfdMode('644', 'res', log), 644 & 0o777);
    assert.match(log.records[0]?.msg ?? '', /res: mode "644" has no leading 0, so it is decimal/);
  });
  it('drops setuid/setgid/sticky, which confd\'s chmod never applied', () => {
    assert.equal(parseConfdMode('04755', 'x', recordingLogger()), 0o755);
  });
});
