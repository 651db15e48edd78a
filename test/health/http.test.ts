// STEWARD_HEALTH_HTTP against a real small HTTP app, with steward as PID 1: the start period,
// retries, the hooks, and a status listed in STEWARD_HEALTH_HTTP_STATUS.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { stopAllStewards } from '../support/steward.ts';
import { until } from '../support/until.ts';
import { freePort, healthLogged, healthStates, readLines, startWebApp, tempDir } from './fixtures/harness.ts';

afterEach(stopAllStewards);

describe('STEWARD_HEALTH_HTTP', () => {
  it('does not count failures during a start period longer than the warm-up', async () => {
    const port = await freePort();
    const s = startWebApp({
      APP_PORT: String(port),
      APP_WARMUP_MS: '1500',
      STEWARD_HEALTH_HTTP: `http://127.0.0.1:${port}/healthz`,
      STEWARD_HEALTH_START_PERIOD: '20s',
      STEWARD_HEALTH_START_INTERVAL: '100ms',
      STEWARD_HEALTH_RETRIES: '1',
    });
    await s.line(/^listening$/);
    const healthy = await healthLogged(s, 'healthy');
    assert.equal(healthy['output'], 'HTTP 200 ok');
    // Every check before the app listened failed (about 15 of them), yet none counted.
    assert.deepEqual(healthStates(s), ['healthy']);
  });

  it('is unhealthy after RETRIES failures in a row, healthy after one success, and runs the hooks', async () => {
    const port = await freePort();
    const dir = tempDir();
    const hooks = join(dir, 'hooks');
    const s = startWebApp({
      APP_PORT: String(port),
      STEWARD_HEALTH_HTTP: `http://127.0.0.1:${port}/`,
      // The first checks may come before the app listens: the start period covers them.
      STEWARD_HEALTH_START_PERIOD: '30s',
      STEWARD_HEALTH_INTERVAL: '100ms',
      STEWARD_HEALTH_START_INTERVAL: '100ms',
      STEWARD_HEALTH_RETRIES: '3',
      STEWARD_ON_HEALTHY: `sh -c 'echo "$STEWARD_HEALTH pid=$STEWARD_APP_PID" >> ${hooks}'`,
      STEWARD_ON_UNHEALTHY: `sh -c 'echo "$STEWARD_HEALTH $STEWARD_HEALTH_OUTPUT" >> ${hooks}'`,
    });
    const started = await s.line(/^started pid=/);
    await healthLogged(s, 'healthy');
    await until('the healthy hook', () => readLines(hooks).length === 1);
    assert.equal(readLines(hooks)[0], `healthy pid=${started.slice('started pid='.length)}`);

    await s.signal('SIGUSR1');
    const unhealthy = await healthLogged(s, 'unhealthy');
    assert.equal(unhealthy['failingStreak'], 3);
    await until('the unhealthy hook', () => readLines(hooks).length === 2);
    assert.match(readLines(hooks)[1] ?? '', /^unhealthy .*ECONNREFUSED/);

    await s.signal('SIGUSR2');
    await healthLogged(s, 'healthy', 2);
    await until('the healthy hook again', () => readLines(hooks).length === 3);
    assert.deepEqual(healthStates(s), ['healthy', 'unhealthy', 'healthy']);
  });

  for (const listed of [true, false]) {
    it(`counts a 503 as ${listed ? 'healthy when STEWARD_HEALTH_HTTP_STATUS lists it' : 'a failure otherwise'}`, async () => {
      const port = await freePort();
      const s = startWebApp({
        APP_PORT: String(port),
        APP_SICK: '1',
        APP_SICK_LISTENS: '1',
        STEWARD_HEALTH_HTTP: `http://127.0.0.1:${port}/`,
        ...(listed ? { STEWARD_HEALTH_HTTP_STATUS: '401,503' } : {}),
        // The checks begin at READY=1, which the app sends once it listens: what counts is its
        // answer, not its warm-up, however slow the machine is.
        APP_NOTIFY: '1',
        STEWARD_HEALTH_NOTIFY: 'true',
        STEWARD_HEALTH_INTERVAL: '100ms',
        STEWARD_HEALTH_RETRIES: '2',
      });
      await s.line(/^listening$/);
      const line = await healthLogged(s, listed ? 'healthy' : 'unhealthy');
      assert.equal(line['output'], 'HTTP 503 sick');
    });
  }

  it('rejects a URL that is not http or https with exit 78', async () => {
    const s = startWebApp({ APP_PORT: '1', STEWARD_HEALTH_HTTP: 'ftp://127.0.0.1/' });
    const exit = await s.exited;
    assert.equal(exit.code, 78);
    assert.match(s.stderr(), /STEWARD_HEALTH_HTTP: "ftp:\/\/127\.0\.0\.1\/" is not an http or https URL/);
  });
});
