// Signals sent to steward reach the app: every forwarded one, rewritten where asked, to the
// whole process group where asked; job-control stops become SIGSTOP; SIGUSR1 never starts
// Node's inspector.

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { FORWARDED_SIGNALS } from '../../src/init/signals.ts';
import { APP, NODE, appPid, processState, startSteward, stopAllStewards } from '../support/steward.ts';
import { until } from '../support/until.ts';

afterEach(stopAllStewards);

describe('signal forwarding as PID 1', () => {
  it('forwards every catchable signal to the app', async () => {
    const s = startSteward([NODE, APP]);
    await s.line(/^ready/);
    const plain = FORWARDED_SIGNALS.filter((sig) => !['SIGTERM', 'SIGINT', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU'].includes(sig));
    for (const sig of plain) {
      await s.signal(sig);
      await s.line(new RegExp(`^got ${sig}$`));
    }
    await s.signal('SIGTERM');
    await s.line(/^got SIGTERM$/);
    const exit = await s.exited;
    assert.equal(exit.code, 0);
    // Each signal arrived exactly once.
    for (const sig of plain) assert.equal(s.stdoutLines().filter((l) => l === `got ${sig}`).length, 1, sig);
    assert.doesNotMatch(s.stderr(), /Debugger listening/);
  });

  it('forwards SIGINT and stops with the app', async () => {
    const s = startSteward([NODE, APP]);
    await s.line(/^ready/);
    await s.signal('SIGINT');
    await s.line(/^got SIGINT$/);
    assert.equal((await s.exited).code, 0);
  });

  it('rewrites signals with STEWARD_SIGNAL_REWRITE and drops those mapped to 0', async () => {
    const s = startSteward([NODE, APP], {
      env: { STEWARD_SIGNAL_REWRITE: 'TERM:QUIT,USR1:0,HUP:USR2', APP_EXIT_ON: 'SIGQUIT:5' },
    });
    await s.line(/^ready/);
    await s.signal('SIGUSR1');
    await s.signal('SIGHUP');
    await s.line(/^got SIGUSR2$/);
    await s.signal('SIGTERM');
    await s.line(/^got SIGQUIT$/);
    assert.equal((await s.exited).code, 5);
    assert.ok(!s.stdoutLines().includes('got SIGUSR1'), 'USR1 was dropped');
    assert.ok(!s.stdoutLines().includes('got SIGTERM'), 'TERM was rewritten');
  });

  it('turns SIGTSTP into SIGSTOP and SIGCONT resumes the app', async () => {
    const s = startSteward([NODE, APP]);
    await s.line(/^ready/);
    const pid = await appPid(s);
    for (const stop of ['SIGTSTP', 'SIGTTIN', 'SIGTTOU'] as const) {
      await s.signal(stop);
      await until(`the app to stop on ${stop}`, () => processState(pid) === 'T', 5000);
      await s.signal('SIGCONT');
      await until('the app to resume', () => processState(pid) !== 'T', 5000);
      await s.line(/^got SIGCONT$/);
    }
    await s.signal('SIGTERM');
    assert.equal((await s.exited).code, 0);
  });

  it('reaches the whole process group with STEWARD_SIGNAL_GROUP=true', async () => {
    const script = `trap 'echo child got USR1' USR1; (trap 'echo grandchild got USR1; exit 0' USR1; echo grandchild ready; while :; do sleep 0.05; done) & echo child ready; while :; do sleep 0.05; done`;
    const s = startSteward(['sh', '-c', script], { env: { STEWARD_SIGNAL_GROUP: 'true', STEWARD_STOP_TIMEOUT: '2s' } });
    await s.line(/^grandchild ready$/);
    await s.line(/^child ready$/);
    await s.signal('SIGUSR1');
    await s.line(/^grandchild got USR1$/);
    await s.line(/^child got USR1$/);
    await s.signal('SIGKILL');
    await s.exited;
  });

  it('without group mode, only the app itself gets the signal', async () => {
    const script = `trap 'echo child got USR1' USR1; (trap 'echo grandchild got USR1' USR1; echo grandchild ready; while :; do sleep 0.05; done) & echo child ready; while :; do sleep 0.05; done`;
    const s = startSteward(['sh', '-c', script], { env: { STEWARD_STOP_TIMEOUT: '1s' } });
    await s.line(/^grandchild ready$/);
    await s.line(/^child ready$/);
    await s.signal('SIGUSR1');
    await s.line(/^child got USR1$/);
    await s.signal('SIGUSR2');
    // USR2 is not trapped: the app dies of it, and the grandchild, never signalled, never spoke.
    const exit = await s.exited;
    assert.equal(exit.code, 128 + 12);
    assert.ok(!s.stdoutLines().includes('grandchild got USR1'));
  });

  it('runs the app in its own process group', async () => {
    const s = startSteward([NODE, APP]);
    const ready = await s.line(/^ready/);
    const m = /pid=(\d+) pgid=(\d+)/.exec(ready);
    assert.ok(m);
    assert.equal(m[1], m[2]);
    await s.signal('SIGTERM');
    await s.exited;
  });
});
