// STEWARD_HEALTH_NOTIFY: the app gets a NOTIFY_SOCKET and a real sd_notify sender
// (systemd-notify) tells steward READY=1 and a STATUS= line.

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { client, socketDir } from '../support/operator.ts';
import { stopAllStewards } from '../support/steward.ts';
import { until } from '../support/until.ts';
import { freePort, healthLogged, healthStates, logLines, startWebApp } from './fixtures/harness.ts';

afterEach(stopAllStewards);

describe('STEWARD_HEALTH_NOTIFY', () => {
  it('counts the app started at READY=1 and keeps its STATUS= for the status view', async () => {
    const port = await freePort();
    const { socket } = socketDir();
    const s = startWebApp({ APP_PORT: String(port), APP_WARMUP_MS: '300', APP_NOTIFY: '1', STEWARD_HEALTH_NOTIFY: 'true', STEWARD_CONTROL_SOCKET: socket });
    await s.line(/^notified$/);
    const healthy = await healthLogged(s, 'healthy');
    assert.equal(healthy['output'], 'READY=1');
    const status = await until('the STATUS= line in the log', () => logLines(s).find((l) => l.msg === 'app status'));
    assert.equal(status['status'], `serving on ${port}`);
    const json = JSON.parse((await client(socket, '--status', '--json')).out) as { app: { notifyStatus: string | null } };
    assert.equal(json.app.notifyStatus, `serving on ${port}`);
    assert.match((await client(socket, '--status')).out, new RegExp(`, status "serving on ${port}"`));
  });

  it('begins the checks only at READY=1', async () => {
    const port = await freePort();
    const s = startWebApp({
      APP_PORT: String(port),
      APP_WARMUP_MS: '1000',
      APP_NOTIFY: '1',
      STEWARD_HEALTH_NOTIFY: 'true',
      STEWARD_HEALTH_HTTP: `http://127.0.0.1:${port}/`,
      // No start period and one retry: a single check before the app listened would make it unhealthy.
      STEWARD_HEALTH_RETRIES: '1',
    });
    const healthy = await healthLogged(s, 'healthy');
    assert.equal(healthy['output'], 'HTTP 200 ok');
    assert.deepEqual(healthStates(s), ['healthy']);
  });

  it('makes an app that never sends READY=1 unhealthy once the start period is over', async () => {
    const s = startWebApp({ APP_PORT: String(await freePort()), STEWARD_HEALTH_NOTIFY: 'true', STEWARD_HEALTH_START_PERIOD: '500ms' });
    const line = await healthLogged(s, 'unhealthy');
    assert.equal(line['output'], 'no READY=1 within the start period');
  });
});
