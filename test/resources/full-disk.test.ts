// A write that fails at run time because the disk is full (or read-only) is tried again with back-off, without
// any change of a key, and the app is reloaded once, on the whole batch: steward runs in a mount
// namespace of its own with a tiny tmpfs for one of its two destinations, which the test fills
// and then frees through /proc/<steward's pid>/root.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { makeConfdir } from '../support/confdir.ts';
import { APP, logRecords, NODE, startSteward, stopAllStewards } from '../support/steward.ts';
import { until } from '../support/until.ts';

afterEach(stopAllStewards);

const TEMPLATE = 'host={{ getv "/app/host" }}\n';

function replaceAtomically(path: string, text: string): void {
  writeFileSync(`${path}.new`, text);
  renameSync(`${path}.new`, path);
}

/** Writes into `path` until the filesystem is full. */
function fill(path: string): void {
  try {
    writeFileSync(path, Buffer.alloc(1 << 20, 'x'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
    return;
  }
  throw new Error(`${path}: the filesystem did not fill up`);
}

describe('a write that fails at run time', () => {
  it('is retried without a key change, and the app reloads once, on the whole batch', async () => {
    const c = makeConfdir();
    const full = join(c.out, 'full');
    mkdirSync(full);
    const a = join(full, 'a.conf');
    const b = join(c.out, 'b.conf');
    c.file('conf.d/a.toml', `[template]\nsrc = "app.tmpl"\ndest = "${a}"\nkeys = ["/app"]\n`);
    c.file('conf.d/b.toml', `[template]\nsrc = "app.tmpl"\ndest = "${b}"\nkeys = ["/app"]\n`);
    c.file('templates/app.tmpl', TEMPLATE);
    const values = c.file('values.yaml', 'app:\n  host: v1\n');
    const s = startSteward([NODE, APP], {
      env: { CONFD_CONFDIR: c.dir, CONFD_BACKEND: 'file', CONFD_FILE: values, STEWARD_WAIT: '0', APP_WATCH_FILE: a },
      tmpfs: { path: full, size: '64k' },
    });
    await s.line(/^ready/);
    assert.ok(s.stdoutLines().includes('file=host=v1|'));
    const pid = await s.stewardPid();
    const inside = (path: string): string => `/proc/${pid}/root${path}`;
    const filler = inside(join(full, 'filler'));
    fill(filler);

    replaceAtomically(values, 'app:\n  host: v2\n');
    const logs = () => logRecords(s.stderr());
    await until('b.conf to be installed', () => readFileSync(b, 'utf8') === 'host=v2\n');
    await until('steward to hold the reload', () => logs().some((l) => /^holding the app's reload until .*a\.conf is installed/.test(String(l['msg']))));
    await until('a second attempt at a.conf, with no key change', () => logs().filter((l) => /^cannot update .*a\.conf; keeping the last one and trying again in/.test(String(l['msg']))).length >= 2);
    assert.equal(readFileSync(inside(a), 'utf8'), 'host=v1\n', 'a.conf keeps its last good content');
    assert.ok(!s.stdoutLines().includes('got SIGHUP'), 'no reload on a mixed configuration');
    const failures = logs().filter((l) => /^cannot update .*a\.conf/.test(String(l['msg'])));
    assert.ok(failures.every((l) => l['level'] === 50 && /ENOSPC|no space/i.test(String(l['error']))), JSON.stringify(failures));

    unlinkSync(filler);
    // Within the back-off (a few seconds at this point), not at the next change of a key.
    await s.line(/^got SIGHUP$/, 20_000);
    await s.line(/^file=host=v2\|$/);
    const lines = s.stdoutLines();
    assert.equal(lines[lines.indexOf('got SIGHUP') + 1], 'file=host=v2|', 'the app saw the whole batch at its reload');
    await until('the log to say the batch is whole', () => logs().some((l) => /^every file of the batch is installed after .*: reloading the app$/.test(String(l['msg']))));
    assert.ok(!logs().some((l) => /STEWARD_RELOAD_HOLD \(30s\) although/.test(String(l['msg']))), 'the hold did not run out');
    await s.signal('SIGTERM');
    assert.equal((await s.exited).code, 0);
    assert.equal(lines.filter((l) => l === 'got SIGHUP').length, 1);
  });

  it('retries a read-only filesystem until it is writable again', async () => {
    const c = makeConfdir();
    const ro = join(c.out, 'ro');
    mkdirSync(ro);
    const a = join(ro, 'a.conf');
    c.file('conf.d/a.toml', `[template]\nsrc = "app.tmpl"\ndest = "${a}"\nkeys = ["/app"]\n`);
    c.file('templates/app.tmpl', TEMPLATE);
    const values = c.file('values.yaml', 'app:\n  host: v1\n');
    const s = startSteward([NODE, APP], {
      env: { CONFD_CONFDIR: c.dir, CONFD_BACKEND: 'file', CONFD_FILE: values, STEWARD_WAIT: '0', APP_WATCH_FILE: a },
      tmpfs: { path: ro, size: '64k' },
    });
    await s.line(/^ready/);
    const pid = await s.stewardPid();
    const remount = (how: 'ro' | 'rw'): void => {
      execFileSync('nsenter', [`--mount=/proc/${pid}/ns/mnt`, 'mount', '-o', `remount,${how}`, ro]);
    };
    remount('ro');
    replaceAtomically(values, 'app:\n  host: v2\n');
    const logs = () => logRecords(s.stderr());
    await until('a failed write naming EROFS', () => logs().some((l) => /^cannot update .*a\.conf; keeping the last one and trying again in/.test(String(l['msg'])) && /EROFS/.test(String(l['error']))));
    assert.ok(!s.stdoutLines().includes('got SIGHUP'));
    remount('rw');
    await s.line(/^got SIGHUP$/, 20_000);
    await s.line(/^file=host=v2\|$/);
    await s.signal('SIGTERM');
    assert.equal((await s.exited).code, 0);
  });
});
