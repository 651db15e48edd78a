// Easy mistakes in a trusted configuration get one clear error (exit 78, naming the resource or
// path) instead of doing something harmful or crashing.

import assert from 'node:assert/strict';
import { existsSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { makeConfdir } from '../support/confdir.ts';
import { runSteward } from '../support/steward.ts';

describe('mistakes that get a clear error', () => {
  it('refuses a src outside <confdir>/templates with exit 78, naming the resource', async () => {
    const c = makeConfdir({ 'leak.toml': '[template]\nsrc = "../../../../../etc/passwd"\ndest = "$OUT/leak.conf"\n' });
    const r = await runSteward(['--once'], { env: { CONFD_CONFDIR: c.dir }, pid1: false });
    assert.equal(r.code, 78);
    assert.match(r.stderr, /leak\.toml: src "\.\.\/\.\.\/\.\.\/\.\.\/\.\.\/etc\/passwd" is outside/);
    assert.equal(existsSync(join(c.out, 'leak.conf')), false);
  });

  it('gives check_cmd a stage path without shell metacharacters, whatever the destination\'s name', async () => {
    const c = makeConfdir(
      { 'x.toml': '[template]\nsrc = "x.tmpl"\ndest = "$OUT/x;touch pwned;.conf"\ncheck_cmd = "test -s {{.src}}"\n' },
      { 'x.tmpl': 'content\n' },
    );
    // The check runs in steward's working directory: that is where `touch pwned` would land.
    const r = await runSteward(['--once'], { env: { CONFD_CONFDIR: c.dir }, pid1: false, cwd: c.out });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(existsSync(join(c.out, 'pwned')), false);
    assert.equal(readFileSync(join(c.out, 'x;touch pwned;.conf'), 'utf8'), 'content\n');
  });

  it('refuses, with exit 78 naming the resource, a check_cmd resource whose destination directory has shell metacharacters', async () => {
    const c = makeConfdir({ 'x.toml': '[template]\nsrc = "x.tmpl"\ndest = "$OUT/a$(touch $OUT/pwned)/x.conf"\ncheck_cmd = "test -s {{.src}}"\n' }, { 'x.tmpl': 'content\n' });
    const r = await runSteward(['--once'], { env: { CONFD_CONFDIR: c.dir }, pid1: false });
    assert.equal(r.code, 78);
    assert.match(r.stderr, /x\.toml: the directory of dest .* has characters a shell would interpret/);
    assert.equal(existsSync(join(c.out, 'pwned')), false);
  });

  it('refuses an undefined name in a nunjucks template, naming the template and line, and writes nothing', async () => {
    const c = makeConfdir(
      { 'app.toml': '[template]\nsrc = "app.conf.njk"\ndest = "$OUT/app.conf"\n' },
      { 'app.conf.njk': 'host={{ getenv("HOME") }}\nport={{ prot }}\nname={{ nickname | default("none") }}\n' },
    );
    const r = await runSteward(['--once'], { env: { CONFD_CONFDIR: c.dir }, pid1: false });
    assert.equal(r.code, 78);
    assert.match(r.stderr, /app\.toml: app\.conf\.njk:2:6: undefined value/);
    assert.equal(existsSync(join(c.out, 'app.conf')), false);
  });

  for (const [what, link, target, named] of [
    ['a directory symlink that leads back to conf.d', 'sub', '..', /conf\.d\/sub\/conf\.d: symlink loop in /],
    ['a symlink to itself', 'self.toml', 'self.toml', /conf\.d\/self\.toml: symlink loop/],
  ] as const) {
    it(`refuses ${what} in conf.d with exit 78 naming the path, not an internal error`, async () => {
      const c = makeConfdir({ 'app.toml': '[template]\nsrc = "app.tmpl"\ndest = "$OUT/app.conf"\n' }, { 'app.tmpl': 'x\n' });
      symlinkSync(target, join(c.dir, 'conf.d', link));
      const r = await runSteward(['--once'], { env: { CONFD_CONFDIR: c.dir }, pid1: false });
      assert.equal(r.code, 78, r.stderr);
      assert.match(r.stderr, named);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    });
  }
});
