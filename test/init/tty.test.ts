// `docker run -it`: stdin is a terminal, and the app must own it as its foreground process group:
// /dev/tty opens, `read` works, Ctrl-C reaches the app exactly once. Run under `script`
// (util-linux), which gives steward a real pseudo-terminal.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { afterEach, describe, it } from 'node:test';
import { STEWARD } from '../support/steward.ts';

// The app reads first: a read before steward has handed over the terminal stops the app with
// SIGTTIN until steward's SIGCONT, so what it sees after the read is what a user's app sees.
const APP_SCRIPT = [
  'n=0',
  "trap 'n=$((n+1)); echo INT$n' INT",
  'echo ready',
  'read first; echo "got $first"',
  'set -- $(cat /proc/$$/stat)',
  'echo "ids pid=$1 pgrp=$5 tpgid=$8"',
  'if echo probe > /dev/tty; then echo tty-open; fi',
  'while :; do if read l; then echo "line=$l ints=$n"; [ "$l" = bye ] && exit 0; fi; done',
].join('\n');

function underScript(command: string) {
  const proc = spawn('script', ['-qfec', command, '/dev/null'], { stdio: 'pipe' });
  let out = '';
  const waiters: { re: RegExp; resolve: (m: RegExpExecArray) => void }[] = [];
  proc.stdout.setEncoding('utf8');
  proc.stdout.on('data', (chunk: string) => {
    out += chunk.replaceAll('\r', '');
    for (const w of [...waiters]) {
      const m = w.re.exec(out);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return {
    proc,
    exited,
    output: () => out,
    expect(re: RegExp, timeoutMs = 10_000): Promise<RegExpExecArray> {
      const m = re.exec(out);
      if (m) return Promise.resolve(m);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no ${re} in terminal output:\n${out}`)), timeoutMs);
        waiters.push({ re, resolve: (x) => { clearTimeout(t); resolve(x); } });
      });
    },
  };
}

describe('terminal ownership', () => {
  let proc: ReturnType<typeof spawn> | undefined;
  afterEach(() => {
    proc?.kill('SIGKILL');
  });

  for (const pid1 of [true, false]) {
    it(`gives the app the terminal as its foreground group (${pid1 ? 'PID 1' : 'plain'})`, async () => {
      const quoted = APP_SCRIPT.replaceAll("'", "'\\''");
      const prefix = pid1 ? 'unshare --pid --fork --mount-proc ' : '';
      const t = underScript(`${prefix}${STEWARD} sh -c '${quoted}'`);
      proc = t.proc;
      await t.expect(/^ready$/m);
      t.proc.stdin?.write('hello\n');
      await t.expect(/got hello/);
      const ids = await t.expect(/ids pid=(\d+) pgrp=(\d+) tpgid=(\d+)/);
      assert.equal(ids[2], ids[1], 'the app leads its own process group');
      assert.equal(ids[3], ids[1], 'and that group is the terminal\'s foreground group');
      await t.expect(/tty-open/);
      t.proc.stdin?.write('\x03');
      await t.expect(/INT1/);
      t.proc.stdin?.write('bye\n');
      await t.expect(/line=bye ints=(\d+)/);
      assert.match(t.output(), /line=bye ints=1\n/, 'Ctrl-C reached the app exactly once');
      assert.equal(await t.exited, 0);
    });
  }
});
