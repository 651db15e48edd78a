// Orphans reparented to steward are reaped: as PID 1, and as a child subreaper outside a
// namespace. Zombies are counted in /proc while steward is still running.

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { APP, NODE, childrenOf, processState, startSteward, stopAllStewards } from '../support/steward.ts';
import { until } from '../support/until.ts';

afterEach(stopAllStewards);

function zombiesUnder(pid: number): number[] {
  return childrenOf(pid).filter((p) => processState(p) === 'Z');
}

describe('reaping', () => {
  for (const pid1 of [true, false]) {
    it(`reaps 200 orphans with no zombie left (${pid1 ? 'PID 1' : 'subreaper'})`, async () => {
      const s = startSteward([NODE, APP], { pid1, env: { APP_STDIN_COMMANDS: '1' } });
      await s.line(/^ready/);
      const steward = await s.stewardPid();
      s.write('spawn-orphans 200\n');
      await s.line(/^orphans spawned$/);
      // Every orphan has exited once only steward and the app remain under steward.
      await until('orphans to be reaped', () => childrenOf(steward).length === 1 && zombiesUnder(steward).length === 0, 10_000);
      assert.deepEqual(zombiesUnder(steward), []);
      s.write('exit 0\n');
      assert.equal((await s.exited).code, 0);
    });
  }
});
