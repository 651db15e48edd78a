// Writing rendered files: modes and owners kept or set, unchanged files left alone, a failed
// check leaves the destination untouched, and a bind-mounted single file is rewritten in place.

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, lstatSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { inspect, stageAndSwap, type Desired } from '../../src/resources/stage-and-swap.ts';
import { ROOT } from '../support/steward.ts';

function dir(): string {
  return mkdtempSync(join(tmpdir(), 'steward-swap-'));
}

/** A directory anyone may write in, without the sticky bit: another user can replace its entries. */
function sharedDir(): string {
  const d = dir();
  chmodSync(d, 0o777);
  return d;
}

/** Runs `script` through sh as user and group 65534 with no supplementary groups; its status and output. */
function asNobody(script: string): { status: number | null; stdout: string } {
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'sh', '-c', script], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout };
}

async function write(desired: Desired, check?: (stage: string) => Promise<{ ok: boolean; failure: string | undefined; output: string }>) {
  const inspection = await inspect(desired);
  return { inspection, outcome: await stageAndSwap(desired, inspection, { check, keepStageFile: false }) };
}

describe('stage and swap', () => {
  it('creates a new file with mode 0644 and steward\'s owner', async () => {
    const dest = join(dir(), 'app.conf');
    const { outcome } = await write({ dest, content: Buffer.from('a=1\n'), mode: undefined, uid: undefined, gid: undefined });
    assert.deepEqual(outcome, { kind: 'written', differences: ['created'], inPlace: false });
    assert.equal(readFileSync(dest, 'utf8'), 'a=1\n');
    assert.equal(statSync(dest).mode & 0o7777, 0o644);
    assert.equal(statSync(dest).uid, process.getuid?.());
  });

  it('keeps an existing 0600 mode when the file already belongs to the owner it will have', async () => {
    const dest = join(dir(), 'secret.conf');
    writeFileSync(dest, 'old');
    chmodSync(dest, 0o600);
    const { outcome } = await write({ dest, content: Buffer.from('new'), mode: undefined, uid: undefined, gid: undefined });
    assert.equal(outcome.kind, 'written');
    assert.equal(statSync(dest).mode & 0o7777, 0o600);
  });

  it('gives the file steward\'s owner, not the owner of the file it replaces', async () => {
    const dest = join(dir(), 'secret.conf');
    writeFileSync(dest, 'old');
    chmodSync(dest, 0o640);
    chownSync(dest, 4321, 4322);
    const { outcome } = await write({ dest, content: Buffer.from('new'), mode: undefined, uid: undefined, gid: undefined });
    assert.equal(outcome.kind, 'written');
    const st = statSync(dest);
    assert.deepEqual({ uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 }, { uid: process.geteuid?.(), gid: process.getegid?.(), mode: 0o644 });
  });

  it('applies the resource\'s mode and owner, and counts a mode-only change as a change', async () => {
    const dest = join(dir(), 'x.conf');
    writeFileSync(dest, 'same');
    chmodSync(dest, 0o644);
    const { inspection, outcome } = await write({ dest, content: Buffer.from('same'), mode: 0o640, uid: 0, gid: 4000 });
    assert.deepEqual(inspection.differences, ['mode', 'owner']);
    assert.equal(outcome.kind, 'written');
    assert.equal(statSync(dest).mode & 0o7777, 0o640);
    assert.equal(statSync(dest).gid, 4000);
  });

  it('sees no difference when content, mode and owner match, and writes nothing', async () => {
    const dest = join(dir(), 'x.conf');
    writeFileSync(dest, 'same');
    chmodSync(dest, 0o644);
    const before = statSync(dest);
    const inspection = await inspect({ dest, content: Buffer.from('same'), mode: undefined, uid: undefined, gid: undefined });
    assert.deepEqual(inspection.differences, []);
    assert.equal(statSync(dest).mtimeMs, before.mtimeMs);
  });

  it('runs the check on a stage file that already has the final mode, owner and content', async () => {
    const d = dir();
    const dest = join(d, 'x.conf');
    let seen: { mode: number; uid: number; gid: number; content: string; dir: string } | undefined;
    const { outcome } = await write({ dest, content: Buffer.from('v2'), mode: 0o640, uid: 1234, gid: 5678 }, async (stage) => {
      const st = statSync(stage);
      seen = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, content: readFileSync(stage, 'utf8'), dir: join(stage, '..') };
      return { ok: true, failure: undefined, output: '' };
    });
    assert.equal(outcome.kind, 'written');
    assert.deepEqual(seen, { mode: 0o640, uid: 1234, gid: 5678, content: 'v2', dir: d });
  });

  it('leaves the destination untouched and no stage file behind when the check fails', async () => {
    const d = dir();
    const dest = join(d, 'x.conf');
    writeFileSync(dest, 'good');
    const { outcome } = await write({ dest, content: Buffer.from('bad'), mode: undefined, uid: undefined, gid: undefined }, async () => ({
      ok: false,
      failure: 'exit status 1',
      output: 'syntax error',
    }));
    assert.deepEqual(outcome, { kind: 'check-failed', failure: 'exit status 1', output: 'syntax error' });
    assert.equal(readFileSync(dest, 'utf8'), 'good');
    assert.deepEqual(readdirSync(d), ['x.conf']);
  });

  it('a file an unprivileged user created beforehand does not let that user read the secret written with mode 0600', async () => {
    const d = sharedDir();
    const dest = join(d, 'db.conf');
    assert.equal(asNobody(`touch ${dest} && chmod 666 ${dest}`).status, 0);
    const { outcome } = await write({ dest, content: Buffer.from('password=s3cret\n'), mode: 0o600, uid: undefined, gid: undefined });
    assert.equal(outcome.kind, 'written');
    const st = statSync(dest);
    assert.deepEqual({ uid: st.uid, mode: st.mode & 0o7777 }, { uid: process.geteuid?.(), mode: 0o600 });
    const read = asNobody(`cat ${dest}`);
    assert.notEqual(read.status, 0);
    assert.doesNotMatch(read.stdout, /s3cret/);
  });

  it('without a mode, a file another user created is not where the mode comes from (0644, steward\'s owner)', async () => {
    const d = sharedDir();
    const dest = join(d, 'app.conf');
    assert.equal(asNobody(`echo old > ${dest} && chmod 666 ${dest}`).status, 0);
    const { outcome } = await write({ dest, content: Buffer.from('new\n'), mode: undefined, uid: undefined, gid: undefined });
    assert.equal(outcome.kind, 'written');
    const st = statSync(dest);
    assert.deepEqual({ uid: st.uid, mode: st.mode & 0o7777 }, { uid: process.geteuid?.(), mode: 0o644 });
    assert.notEqual(asNobody(`echo tampered > ${dest}`).status, 0);
    assert.equal(readFileSync(dest, 'utf8'), 'new\n');
  });

  it('replaces a symlink planted at the destination, taking neither content nor owner nor mode from its target', async () => {
    const d = sharedDir();
    const victimDir = dir();
    const victim = join(victimDir, 'shadow');
    writeFileSync(victim, 'root:secret-hash\n');
    chmodSync(victim, 0o600);
    chownSync(victim, 4321, 4322);
    const dest = join(d, 'e.conf');
    assert.equal(asNobody(`ln -s ${victim} ${dest}`).status, 0);
    const inspection = await inspect({ dest, content: Buffer.from('rendered\n'), mode: undefined, uid: undefined, gid: undefined });
    assert.equal(inspection.existing, undefined);
    assert.deepEqual(inspection.current, { kind: 'symlink' });
    assert.deepEqual(inspection.differences, ['replaced']);
    assert.deepEqual(inspection.target, { mode: 0o644, uid: process.geteuid?.(), gid: process.getegid?.() });
    const outcome = await stageAndSwap({ dest, content: Buffer.from('rendered\n'), mode: undefined, uid: undefined, gid: undefined }, inspection, { check: undefined, keepStageFile: false });
    assert.equal(outcome.kind, 'written');
    assert.equal(lstatSync(dest).isFile(), true);
    assert.equal(readFileSync(dest, 'utf8'), 'rendered\n');
    const v = statSync(victim);
    assert.deepEqual({ content: readFileSync(victim, 'utf8'), mode: v.mode & 0o7777, uid: v.uid }, { content: 'root:secret-hash\n', mode: 0o600, uid: 4321 });
  });

  it('does not block on a FIFO planted at the destination, and replaces it', async () => {
    const d = sharedDir();
    const dest = join(d, 'app.conf');
    assert.equal(asNobody(`mkfifo ${dest}`).status, 0);
    const { inspection, outcome } = await write({ dest, content: Buffer.from('x\n'), mode: undefined, uid: undefined, gid: undefined });
    assert.deepEqual(inspection.current, { kind: 'other', type: 'a FIFO' });
    assert.equal(outcome.kind, 'written');
    assert.equal(readFileSync(dest, 'utf8'), 'x\n');
  });

  it('on a full disk, reports an error and leaves the destination as it was, with no stage file', () => {
    const d = dir();
    const script = `
      import { writeFileSync, readFileSync, readdirSync } from 'node:fs';
      import { inspect, stageAndSwap } from ${JSON.stringify(join(ROOT, 'src/resources/stage-and-swap.ts'))};
      const dest = ${JSON.stringify(join(d, 'app.conf'))};
      writeFileSync(dest, 'the good configuration\\n');
      const desired = { dest, content: Buffer.alloc(200 * 1024, 'x'), mode: undefined, uid: undefined, gid: undefined };
      const outcome = await stageAndSwap(desired, await inspect(desired), { check: undefined, keepStageFile: false });
      console.log(JSON.stringify({ kind: outcome.kind, dest: readFileSync(dest, 'utf8'), files: readdirSync(${JSON.stringify(d)}) }));`;
    const out = execFileSync('unshare', ['--mount', 'sh', '-c', `mount -t tmpfs -o size=64k tmpfs "$1" && exec "$2" --input-type=module -e "$3"`, 'sh', d, process.execPath, script], { encoding: 'utf8' });
    assert.deepEqual(JSON.parse(out), { kind: 'error', dest: 'the good configuration\n', files: ['app.conf'] });
  });

  it('rewrites a bind-mounted single file in place when it cannot be renamed over (EBUSY)', () => {
    const d = dir();
    const source = join(d, 'source.conf');
    const dest = join(d, 'mounted.conf');
    writeFileSync(source, 'old content that is longer than the new one\n');
    writeFileSync(dest, '');
    const script = `
      import { inspect, stageAndSwap } from ${JSON.stringify(join(ROOT, 'src/resources/stage-and-swap.ts'))};
      const desired = { dest: ${JSON.stringify(dest)}, content: Buffer.from('new\\n'), mode: undefined, uid: undefined, gid: undefined };
      const outcome = await stageAndSwap(desired, await inspect(desired), { check: undefined, keepStageFile: false });
      console.log(JSON.stringify(outcome));`;
    const out = execFileSync('unshare', ['--mount', 'sh', '-c', `mount --bind "$1" "$2" && exec "$3" --input-type=module -e "$4"`, 'sh', source, dest, process.execPath, script], { encoding: 'utf8' });
    assert.deepEqual(JSON.parse(out), { kind: 'written', differences: ['content'], inPlace: true });
    // The bind mount showed the source file: it now holds exactly the new content, not a mix.
    assert.equal(readFileSync(source, 'utf8'), 'new\n');
    assert.deepEqual(readdirSync(d).sort(), ['mounted.conf', 'source.conf']);
  });
});
