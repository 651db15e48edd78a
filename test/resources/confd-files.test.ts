// CONFD_CONFDFILE[_x] / CONFD_TEMPLATE[_x]: first line the file name, the rest the content.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { confdFilesFromEnv, writeConfdFiles } from '../../src/config/confd-files.ts';
import { ConfigError } from '../../src/core/exit-codes.ts';

describe('confd files carried in the environment', () => {
  it('writes conf.d and template files verbatim, bare and suffixed names alike', () => {
    const dir = mkdtempSync(join(tmpdir(), 'steward-env-'));
    const files = confdFilesFromEnv({
      CONFD_CONFDFILE_1: 'prometheus.toml\n[template]\nsrc = "prometheus.yml.tmpl"\n',
      CONFD_TEMPLATE_1: 'prometheus.yml.tmpl\nscrape: {{ getv "/prometheus/config/nodes" }}\r\n',
      CONFD_TEMPLATE: 'other.tmpl\r\nx',
      CONFD_NODE: 'ignored',
      PATH: '/bin',
    });
    assert.deepEqual(files.map((f) => `${f.variable}:${f.kind}/${f.name}`), [
      'CONFD_CONFDFILE_1:conf.d/prometheus.toml',
      'CONFD_TEMPLATE:templates/other.tmpl',
      'CONFD_TEMPLATE_1:templates/prometheus.yml.tmpl',
    ]);
    writeConfdFiles(dir, files);
    assert.equal(readFileSync(join(dir, 'conf.d', 'prometheus.toml'), 'utf8'), '[template]\nsrc = "prometheus.yml.tmpl"\n');
    assert.equal(readFileSync(join(dir, 'templates', 'prometheus.yml.tmpl'), 'utf8'), 'scrape: {{ getv "/prometheus/config/nodes" }}\r\n');
    assert.equal(readFileSync(join(dir, 'templates', 'other.tmpl'), 'utf8'), 'x');
    assert.equal(statSync(join(dir, 'conf.d', 'prometheus.toml')).mode & 0o777, 0o644);
  });

  it('replaces a stale file and leaves an identical one alone', () => {
    const dir = mkdtempSync(join(tmpdir(), 'steward-env-'));
    mkdirSync(join(dir, 'templates'));
    writeFileSync(join(dir, 'templates', 'a.tmpl'), 'old');
    assert.equal(writeConfdFiles(dir, confdFilesFromEnv({ CONFD_TEMPLATE_A: 'a.tmpl\nnew' })).length, 1);
    assert.equal(readFileSync(join(dir, 'templates', 'a.tmpl'), 'utf8'), 'new');
    assert.equal(writeConfdFiles(dir, confdFilesFromEnv({ CONFD_TEMPLATE_A: 'a.tmpl\nnew' })).length, 0);
  });

  const bad: [Record<string, string>, RegExp][] = [
    [{ CONFD_TEMPLATE_1: 'just-a-name' }, /^CONFD_TEMPLATE_1: the first line must be the file name/],
    [{ CONFD_CONFDFILE_X: '../../etc/passwd\nroot' }, /^CONFD_CONFDFILE_X: invalid file name "..\/..\/etc\/passwd"/],
    [{ CONFD_TEMPLATE_2: '\ncontent' }, /^CONFD_TEMPLATE_2: invalid file name ""/],
    [{ CONFD_TEMPLATE_A: 'a.tmpl\none', CONFD_TEMPLATE_B: 'a.tmpl\ntwo' }, /^CONFD_TEMPLATE_A and CONFD_TEMPLATE_B both write templates\/a\.tmpl/],
  ];
  for (const [env, message] of bad) {
    it(`refuses ${Object.keys(env).join('+')} with one clear error`, () => {
      assert.throws(() => confdFilesFromEnv(env), (e: unknown) => e instanceof ConfigError && message.test(e.message));
    });
  }
});
