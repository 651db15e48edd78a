// A graceful stop: the app gets the signal, has the stop budget, then its process group is
// killed; processes it leaves behind are stopped too.

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { APP, NODE, childrenOf, startSteward, stopAllStewards, logRecords } from '../support/steward.ts';

afterEach(stopAllStewards);

describe('graceful stop', () => {
  it('kills an app that ignores SIGTERM after STEWARD_STOP_TIMEOUT', async () => {
    const s = startSteward([NODE, APP], { env: { APP_IGNORE: 'SIGTERM', STEWARD_STOP_TIMEOUT: '1s' } });
    await s.line(/^ready/);
    const sent = Date.now();
    await s.signal('SIGTERM');
    await s.line(/^got SIGTERM$/);
    const exit = await s.exited;
    const elapsed = Date.now() - sent;
    assert.equal(exit.code, 128 + 9);
    assert.ok(elapsed >= 1000, `killed after ${elapsed}ms, before the 1s budget`);
    assert.ok(elapsed < 5000, `took ${elapsed}ms`);
    assert.ok(logRecords(s.stderr()).some((r) => String(r['msg']).includes('did not stop in time')));
  });

  it('the app that stops in time decides the status', async () => {
    const s = startSteward([NODE, APP], { env: { APP_EXIT_ON: 'SIGTERM:0', STEWARD_STOP_TIMEOUT: '5s' } });
    await s.line(/^ready/);
    await s.signal('SIGTERM');
    assert.equal((await s.exited).code, 0);
  });

  it('as PID 1, stops processes the app left behind, with SIGTERM first', async () => {
    const script = `(trap 'echo leftover got TERM; exit 0' TERM; echo leftover ready; while :; do sleep 0.05; done) & sleep 0.2; echo app done; exit 3`;
    const s = startSteward(['sh', '-c', script], { env: { STEWARD_STOP_TIMEOUT: '3s' } });
    await s.line(/^leftover ready$/);
    const exit = await s.exited;
    assert.equal(exit.code, 3);
    assert.ok(s.stdoutLines().includes('leftover got TERM'));
  });

  it('as PID 1, SIGKILLs leftovers that ignore SIGTERM at the deadline', async () => {
    const script = `(trap '' TERM; echo stubborn ready; while :; do sleep 0.05; done) & sleep 0.2; exit 0`;
    const started = Date.now();
    const s = startSteward(['sh', '-c', script], { env: { STEWARD_STOP_TIMEOUT: '1s' } });
    await s.line(/^stubborn ready$/);
    const exit = await s.exited;
    assert.equal(exit.code, 0);
    assert.ok(Date.now() - started >= 1000);
  });

  it('outside a namespace, stops the app\'s process group when the app exits', async () => {
    const script = `(trap 'echo leftover got TERM; exit 0' TERM; echo leftover ready; while :; do sleep 0.05; done) & sleep 0.2; exit 0`;
    const s = startSteward(['sh', '-c', script], { pid1: false, env: { STEWARD_STOP_TIMEOUT: '3s' } });
    await s.line(/^leftover ready$/);
    assert.equal((await s.exited).code, 0);
    assert.ok(s.stdoutLines().includes('leftover got TERM'));
  });

  it('forwards the stop signal to the app exactly once', async () => {
    const s = startSteward([NODE, APP]);
    await s.line(/^ready/);
    const steward = await s.stewardPid();
    assert.equal(childrenOf(steward).length, 1);
    await s.signal('SIGTERM');
    await s.exited;
    assert.equal(s.stdoutLines().filter((l) => l === 'got SIGTERM').length, 1);
  });
});
