// A destination that is a bind-mounted single file is rewritten in place: its mode is tightened
// before the first byte of the new content lands, and steward warns at start-up, naming it.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { makeConfdir } from '../support/confdir.ts';
import { logRecords, NODE, ROOT, STEWARD } from '../support/steward.ts';

function dir(): string {
  return mkdtempSync(join(tmpdir(), 'steward-bind-'));
}

/** Runs `script` with sh in a new mount namespace (so that mounts vanish with it). */
function inMountNamespace(script: string, args: readonly string[], env: Record<string, string> = {}) {
  return spawnSync('unshare', ['--mount', 'sh', '-ec', script, 'sh', ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
}

describe('bind-mounted single files', () => {
  it('tightens owner and mode before the first byte is written in place', () => {
    // The mounted file lives on a tmpfs too small for the new content: the write stops part way,
    // and what was written by then must already be out of the previous owner's reach.
    const d = dir();
    const small = join(d, 'small');
    const dest = join(d, 'mounted.conf');
    writeFileSync(dest, '');
    const program = `
      import { statSync } from 'node:fs';
      import { inspect, stageAndSwap } from ${JSON.stringify(join(ROOT, 'src/resources/stage-and-swap.ts'))};
      const desired = { dest: ${JSON.stringify(dest)}, content: Buffer.alloc(200 * 1024, 's'), mode: 0o600, uid: undefined, gid: undefined };
      const outcome = await stageAndSwap(desired, await inspect(desired), { check: undefined, keepStageFile: false });
      const st = statSync(${JSON.stringify(join(small, 'source.conf'))});
      console.log(JSON.stringify({ kind: outcome.kind, mode: st.mode & 0o7777, uid: st.uid, size: st.size }));`;
    const r = inMountNamespace(
      `mkdir "$1"; mount -t tmpfs -o size=64k tmpfs "$1"; echo old > "$1/source.conf"; chown 65534:65534 "$1/source.conf"; chmod 666 "$1/source.conf"
       mount --bind "$1/source.conf" "$2"; exec "$3" --input-type=module -e "$4"`,
      [small, dest, NODE, program],
    );
    assert.equal(r.status, 0, r.stderr);
    const seen = JSON.parse(r.stdout) as { kind: string; mode: number; uid: number; size: number };
    assert.equal(seen.kind, 'error');
    assert.ok(seen.size > 4, 'some new bytes reached the file before the disk was full');
    assert.deepEqual({ mode: seen.mode, uid: seen.uid }, { mode: 0o600, uid: process.geteuid?.() });
  });

  it('warns at start-up, naming each bind-mounted destination', () => {
    const c = makeConfdir(
      {
        'a.toml': '[template]\nsrc = "a.tmpl"\ndest = "$OUT/a.conf"\n',
        'b.toml': '[template]\nsrc = "a.tmpl"\ndest = "$OUT/b.conf"\n',
      },
      { 'a.tmpl': 'static\n' },
    );
    const source = join(dir(), 'source.conf');
    writeFileSync(source, 'old\n');
    writeFileSync(join(c.out, 'a.conf'), '');
    chmodSync(source, 0o644);
    const r = inMountNamespace(`mount --bind "$1" "$2"; exec "$3" --once`, [source, join(c.out, 'a.conf'), STEWARD], {
      CONFD_CONFDIR: c.dir,
      STEWARD_LOG_FORMAT: 'json',
    });
    assert.equal(r.status, 0, r.stderr);
    const warnings = logRecords(r.stderr).filter((l) => l['level'] === 40 && /bind-mounted/.test(String(l['msg'])));
    assert.equal(warnings.length, 1, r.stderr);
    assert.equal(warnings[0]?.['dest'], join(c.out, 'a.conf'));
    assert.match(String(warnings[0]?.['msg']), /partly written.*already has it open keeps reading it.*Mount the directory instead\./);
  });
});
