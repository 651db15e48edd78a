// The app's status passes out of steward unchanged, as tini promises: every code 0..255,
// 128+n for a deadly signal, 127/126 when the command cannot run, and the success mapping.

import assert from 'node:assert/strict';
import { constants } from 'node:os';
import { afterEach, describe, it } from 'node:test';
import { runSteward, stopAllStewards } from '../support/steward.ts';

afterEach(stopAllStewards);

async function inBatches<T>(items: readonly T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

describe('exit status as PID 1', () => {
  it('passes every exit code 0..255 through', async () => {
    const codes = Array.from({ length: 256 }, (_, i) => i);
    const wrong: string[] = [];
    await inBatches(codes, 16, async (code) => {
      const r = await runSteward(['sh', '-c', `exit ${code}`]);
      if (r.code !== code) wrong.push(`${code} -> ${r.code} ${r.stderr}`);
    });
    assert.deepEqual(wrong, []);
  });

  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGKILL'] as const) {
    it(`exits 128+n when the app dies of ${signal}`, async () => {
      const r = await runSteward(['sh', '-c', `kill -${signal.slice(3)} $$`]);
      assert.equal(r.code, 128 + constants.signals[signal]);
    });
  }

  it('exits 127 with one line when the command is not found', async () => {
    const r = await runSteward(['no-such-command-here']);
    assert.equal(r.code, 127);
    assert.equal(r.stderr, 'steward: no-such-command-here: command not found\n');
  });

  it('exits 126 when the command is not executable', async () => {
    const r = await runSteward(['/etc/hostname']);
    assert.equal(r.code, 126);
    assert.match(r.stderr, /^steward: \/etc\/hostname: not executable/);
  });

  it('maps STEWARD_SUCCESS_EXIT_CODES to 0 and leaves other codes alone', async () => {
    const mapped = await runSteward(['sh', '-c', 'exit 3'], { env: { STEWARD_SUCCESS_EXIT_CODES: '3,143' } });
    assert.equal(mapped.code, 0);
    const other = await runSteward(['sh', '-c', 'exit 4'], { env: { STEWARD_SUCCESS_EXIT_CODES: '3,143' } });
    assert.equal(other.code, 4);
    const bySignal = await runSteward(['sh', '-c', 'kill -TERM $$'], { env: { STEWARD_SUCCESS_EXIT_CODES: '143' } });
    assert.equal(bySignal.code, 0);
  });

  it('works outside a pid namespace too (child subreaper)', async () => {
    const r = await runSteward(['sh', '-c', 'exit 7'], { pid1: false });
    assert.equal(r.code, 7);
  });
});
