// STEWARD_RESTART: never, on-failure and always, with back-off and a limit.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { runSteward, startSteward, stopAllStewards } from '../support/steward.ts';

afterEach(stopAllStewards);

function runsIn(file: string): number[] {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

describe('restart policy', () => {
  it('never restarts by default', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'steward-restart-'));
    const log = join(dir, 'runs');
    const r = await runSteward(['sh', '-c', `date +%s%3N >> ${log}; exit 4`]);
    assert.equal(r.code, 4);
    assert.equal(runsIn(log).length, 1);
  });

  it('on-failure restarts with doubling back-off and gives up at the limit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'steward-restart-'));
    const log = join(dir, 'runs');
    const r = await runSteward(['sh', '-c', `date +%s%3N >> ${log}; exit 4`], {
      env: { STEWARD_RESTART: 'on-failure', STEWARD_RESTART_LIMIT: '3', STEWARD_RESTART_BACKOFF: '100ms' },
    });
    assert.equal(r.code, 4);
    const runs = runsIn(log);
    assert.equal(runs.length, 4, 'first run plus 3 restarts');
    const gaps = runs.slice(1).map((t, i) => t - (runs[i] ?? 0));
    assert.ok((gaps[0] ?? 0) >= 100, `gaps ${gaps}`);
    assert.ok((gaps[1] ?? 0) >= 200, `gaps ${gaps}`);
    assert.ok((gaps[2] ?? 0) >= 400, `gaps ${gaps}`);
  });

  it('on-failure does not restart an app that succeeded', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'steward-restart-'));
    const log = join(dir, 'runs');
    const r = await runSteward(['sh', '-c', `date +%s%3N >> ${log}; exit 0`], { env: { STEWARD_RESTART: 'on-failure' } });
    assert.equal(r.code, 0);
    assert.equal(runsIn(log).length, 1);
  });

  it('always restarts after success too, and SIGTERM stops it for good', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'steward-restart-'));
    const log = join(dir, 'runs');
    const s = startSteward(['sh', '-c', `date +%s%3N >> ${log}; n=$(wc -l < ${log}); echo run $n; if [ $n -ge 3 ]; then trap 'exit 0' TERM; while :; do sleep 0.05; done; fi; exit 0`], {
      env: { STEWARD_RESTART: 'always', STEWARD_RESTART_BACKOFF: '50ms' },
    });
    await s.line(/^run 3$/);
    await s.signal('SIGTERM');
    assert.equal((await s.exited).code, 0);
    assert.equal(runsIn(log).length, 3);
  });
});
