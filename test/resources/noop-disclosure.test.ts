// --noop and --check disclose nothing and write nothing: --noop prints the current content of a
// destination only when it is a regular file of steward's own user, and neither mode writes the
// files carried by CONFD_* variables (they are read from memory).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, linkSync, lstatSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { makeConfdir } from '../support/confdir.ts';
import { runSteward, stopAllStewards } from '../support/steward.ts';

afterEach(stopAllStewards);

const SECRET = 'root:$6$secret-hash:19000';

/** A root-owned 0600 file outside the shared directory: what an attacker would like printed. */
function secretFile(): string {
  const path = join(mkdtempSync(join(tmpdir(), 'steward-secret-')), 'shadow');
  writeFileSync(path, `${SECRET}\n`);
  chmodSync(path, 0o600);
  return path;
}

/** A confdir whose output directory anyone may write in (0777, not sticky). */
function sharedSetup() {
  const c = makeConfdir({ 'e.toml': '[template]\nsrc = "e.tmpl"\ndest = "$OUT/e.conf"\n' }, { 'e.tmpl': 'rendered=1\n' });
  chmodSync(c.dir, 0o755);
  chmodSync(c.out, 0o777);
  return { ...c, dest: join(c.out, 'e.conf'), env: { CONFD_CONFDIR: c.dir } };
}

function asNobody(script: string): number | null {
  return spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'sh', '-c', script]).status;
}

describe('--noop discloses nothing', () => {
  it('does not print the target of a symlink an unprivileged user planted at the destination', async () => {
    const c = sharedSetup();
    const secret = secretFile();
    assert.equal(asNobody(`ln -s ${secret} ${c.dest}`), 0);
    const r = await runSteward(['--noop'], { env: c.env, pid1: false });
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout.join('\n');
    assert.doesNotMatch(out + r.stderr, /secret-hash/);
    assert.match(out, /would change \(replaced\)/);
    assert.match(out, /content not shown: the destination is a symbolic link/);
    assert.equal(lstatSync(c.dest).isSymbolicLink(), true);
  });

  it('does not print a file that another user owns', async () => {
    const c = sharedSetup();
    assert.equal(asNobody(`echo planted-by-nobody > ${c.dest}`), 0);
    const r = await runSteward(['--noop'], { env: c.env, pid1: false });
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout.join('\n'), /planted-by-nobody/);
    assert.match(r.stdout.join('\n'), /content not shown: the destination belongs to uid 65534/);
  });

  it('does not print a file with another name (a hard link to some other file)', async () => {
    const c = sharedSetup();
    // Made by root here: hosts with fs.protected_hardlinks=0 let any user make such a link.
    linkSync(secretFile(), c.dest);
    const r = await runSteward(['--noop'], { env: c.env, pid1: false });
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout.join('\n'), /secret-hash/);
    assert.match(r.stdout.join('\n'), /content not shown: the destination has 2 hard links/);
  });

  it('still shows the diff of a regular file steward\'s user owns', async () => {
    const c = sharedSetup();
    writeFileSync(c.dest, 'rendered=0\n');
    const r = await runSteward(['--noop'], { env: c.env, pid1: false });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.join('\n'), /^-rendered=0$/m);
    assert.match(r.stdout.join('\n'), /^\+rendered=1$/m);
  });
});

describe('--noop and --check write nothing', () => {
  const carried = (out: string) => ({
    CONFD_CONFDFILE_APP: `app.toml\n[template]\nsrc = "app.tmpl"\ndest = "${join(out, 'app.conf')}"\n`,
    CONFD_TEMPLATE_APP: 'app.tmpl\nfrom-the-environment\n',
  });

  it('--noop renders the CONFD_* resources from memory and leaves the confdir as it was', async () => {
    const c = makeConfdir();
    const r = await runSteward(['--noop'], { env: { CONFD_CONFDIR: c.dir, ...carried(c.out) }, pid1: false });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.join('\n'), /^\+from-the-environment$/m);
    assert.deepEqual([readdirSync(join(c.dir, 'conf.d')), readdirSync(join(c.dir, 'templates')), readdirSync(c.out)], [[], [], []]);
  });

  it('--noop takes a CONFD_* template over the file of the same name on disk, without writing it', async () => {
    const c = makeConfdir({}, { 'app.tmpl': 'from-the-disk\n' });
    const r = await runSteward(['--noop'], { env: { CONFD_CONFDIR: c.dir, ...carried(c.out) }, pid1: false });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.join('\n'), /^\+from-the-environment$/m);
    assert.deepEqual(readdirSync(join(c.dir, 'conf.d')), []);
  });

  it('--check validates the CONFD_* resources from memory and writes nothing', async () => {
    const c = makeConfdir();
    const ok = await runSteward(['--check'], { env: { CONFD_CONFDIR: c.dir, ...carried(c.out) }, pid1: false });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stderr, /configuration is valid: 1 template resource/);
    const bad = await runSteward(['--check'], { env: { CONFD_CONFDIR: c.dir, ...carried(c.out), CONFD_TEMPLATE_APP: 'app.tmpl\n{{ oops' }, pid1: false });
    assert.equal(bad.code, 78);
    assert.match(bad.stderr, /app\.tmpl/);
    assert.deepEqual([readdirSync(join(c.dir, 'conf.d')), readdirSync(join(c.dir, 'templates'))], [[], []]);
  });
});
