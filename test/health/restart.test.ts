// STEWARD_HEALTH_RESTART_AFTER: an app unhealthy that long is restarted through the supervisor's
// restart, with its back-off and STEWARD_RESTART_LIMIT.

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { stopAllStewards } from '../support/steward.ts';
import { until } from '../support/until.ts';
import { freePort, healthLogged, logLines, startWebApp } from './fixtures/harness.ts';

afterEach(stopAllStewards);

describe('STEWARD_HEALTH_RESTART_AFTER', () => {
  it('restarts an app that stays unhealthy, which then starts over healthy', async () => {
    const port = await freePort();
    const s = startWebApp({
      APP_PORT: String(port),
      STEWARD_HEALTH_HTTP: `http://127.0.0.1:${port}/`,
      STEWARD_HEALTH_START_PERIOD: '30s',
      STEWARD_HEALTH_START_INTERVAL: '100ms',
      STEWARD_HEALTH_INTERVAL: '100ms',
      STEWARD_HEALTH_RETRIES: '2',
      STEWARD_HEALTH_RESTART_AFTER: '300ms',
      STEWARD_RESTART_BACKOFF: '100ms',
    });
    const first = await s.line(/^started pid=/);
    await healthLogged(s, 'healthy');
    await s.signal('SIGUSR1');
    await healthLogged(s, 'unhealthy');
    await until('a second run of the app', () => s.stdoutLines().filter((l) => l.startsWith('started pid=')).length === 2);
    const second = s.stdoutLines().filter((l) => l.startsWith('started pid='))[1];
    assert.notEqual(second, first);
    await healthLogged(s, 'healthy', 2);
    assert.ok(logLines(s).some((l) => l.msg === 'stopping app for a restart' && /STEWARD_HEALTH_RESTART_AFTER/.test(String(l['reason']))));
  });

  it('gives up at STEWARD_RESTART_LIMIT, whatever STEWARD_RESTART says', async () => {
    const s = startWebApp({
      APP_PORT: String(await freePort()),
      APP_SICK: '1',
      STEWARD_HEALTH_TCP: '127.0.0.1:1',
      STEWARD_HEALTH_INTERVAL: '100ms',
      STEWARD_HEALTH_RETRIES: '1',
      STEWARD_HEALTH_RESTART_AFTER: '0s',
      STEWARD_RESTART_LIMIT: '1',
      STEWARD_RESTART_BACKOFF: '100ms',
    });
    await s.exited;
    // Counted from steward's log: a run stopped this early may not have printed anything yet.
    assert.equal(logLines(s).filter((l) => l.msg === 'app started').length, 2, 'the first run and one restart');
    assert.ok(logLines(s).some((l) => l.msg === 'app stays unhealthy; restart limit reached'));
  });
});
