// STEWARD_HEALTH_TCP and STEWARD_HEALTH_CMD against the small app, with steward as PID 1.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { stopAllStewards } from '../support/steward.ts';
import { until } from '../support/until.ts';
import { freePort, healthLogged, healthStates, logLines, startWebApp, tempDir } from './fixtures/harness.ts';

afterEach(stopAllStewards);

describe('STEWARD_HEALTH_TCP', () => {
  it('needs every address to accept a connection', async () => {
    const port = await freePort();
    const closed = await freePort();
    const s = startWebApp({
      APP_PORT: String(port),
      STEWARD_HEALTH_TCP: `127.0.0.1:${port},127.0.0.1:${closed}`,
      // The checks begin at READY=1, which the app sends once it listens: only the closed port is
      // then named, however slow the machine is.
      APP_NOTIFY: '1',
      STEWARD_HEALTH_NOTIFY: 'true',
      STEWARD_HEALTH_INTERVAL: '100ms',
      STEWARD_HEALTH_RETRIES: '2',
    });
    await s.line(/^listening$/);
    const line = await healthLogged(s, 'unhealthy');
    assert.match(String(line['output']), new RegExp(`^127\\.0\\.0\\.1:${closed}: connect ECONNREFUSED`));
    assert.deepEqual(healthStates(s), ['unhealthy']);
  });

  it('is healthy once the app listens, unhealthy when it stops listening', async () => {
    const port = await freePort();
    const s = startWebApp({
      APP_PORT: String(port),
      APP_WARMUP_MS: '800',
      STEWARD_HEALTH_TCP: `127.0.0.1:${port}`,
      STEWARD_HEALTH_START_PERIOD: '20s',
      STEWARD_HEALTH_START_INTERVAL: '100ms',
      STEWARD_HEALTH_INTERVAL: '100ms',
      STEWARD_HEALTH_RETRIES: '2',
    });
    await healthLogged(s, 'healthy');
    await s.signal('SIGUSR1');
    await healthLogged(s, 'unhealthy');
    assert.deepEqual(healthStates(s), ['healthy', 'unhealthy']);
  });

  it('rejects an address without a port with exit 78', async () => {
    const s = startWebApp({ APP_PORT: '1', STEWARD_HEALTH_TCP: 'localhost' });
    assert.equal((await s.exited).code, 78);
    assert.match(s.stderr(), /STEWARD_HEALTH_TCP: invalid address "localhost" \(expected HOST:PORT/);
  });
});

describe('STEWARD_HEALTH_CMD', () => {
  it("runs without a shell, with the app's pid in STEWARD_APP_PID and in place of {pid}", async () => {
    const dir = tempDir();
    const seen = join(dir, 'seen');
    const s = startWebApp({
      APP_PORT: String(await freePort()),
      // No shell: the quotes group the words, nothing expands $STEWARD_APP_PID but the sh below.
      STEWARD_HEALTH_CMD: `sh -c 'echo "$STEWARD_APP_PID $1" > ${seen}; test -d /proc/$1' check {pid}`,
    });
    const started = await s.line(/^started pid=/);
    await healthLogged(s, 'healthy');
    const pid = started.slice('started pid='.length);
    assert.equal(readFileSync(seen, 'utf8').trim(), `${pid} ${pid}`);
  });

  it('kills a check that hangs at its timeout and counts it as failed', async () => {
    const dir = tempDir();
    const pidFile = join(dir, 'check-pid');
    const s = startWebApp({
      APP_PORT: String(await freePort()),
      STEWARD_HEALTH_CMD: `sh -c 'echo $$ > ${pidFile}; exec sleep 1000'`,
      STEWARD_HEALTH_TIMEOUT: '300ms',
      STEWARD_HEALTH_RETRIES: '1',
      // In the test's own pid namespace, so that the check's pid means the same here.
    }, { pid1: false });
    const line = await healthLogged(s, 'unhealthy');
    assert.equal(line['output'], 'timed out after 300ms');
    const pid = readFileSync(pidFile, 'utf8').trim();
    await until('the hung check to be gone', () => !existsSync(`/proc/${pid}`));
    assert.ok(logLines(s).every((l) => l.msg !== 'app is healthy'));
  });

  it('is a configuration error (exit 78) when the command is not found, before the app starts', async () => {
    const s = startWebApp({ APP_PORT: '1', STEWARD_HEALTH_CMD: 'no-such-health-probe --quick' });
    assert.equal((await s.exited).code, 78);
    assert.match(s.stderr(), /STEWARD_HEALTH_CMD: command not found: no-such-health-probe/);
    assert.ok(!s.stdoutLines().some((l) => l.startsWith('started')), 'the app never started');
  });

  it('refuses two checks at once with exit 78', async () => {
    const s = startWebApp({ APP_PORT: '1', STEWARD_HEALTH_CMD: 'true', STEWARD_HEALTH_TCP: '127.0.0.1:1' });
    assert.equal((await s.exited).code, 78);
    assert.match(s.stderr(), /STEWARD_HEALTH_CMD and STEWARD_HEALTH_TCP: set only one health check/);
  });
});
