// `steward --health`, /healthz and `steward --status` while the app's own health check drives
// them, end to end: the real binary runs the small web app, and the test flips the check's
// outcome (a file a command check tests, or the app's HTTP answer) and reads what an operator
// would read at each step: starting, healthy, unhealthy after failing checks, healthy again.

import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { healthStates, readLines, startWebApp } from '../health/fixtures/harness.ts';
import { client, freePort, socketDir } from '../support/operator.ts';
import { stopAllStewards } from '../support/steward.ts';
import { until } from '../support/until.ts';

afterEach(stopAllStewards);

/** Fast checks; failures count only once a check has passed (the start period is long). */
const TIMING = {
  STEWARD_HEALTH_START_PERIOD: '10m',
  STEWARD_HEALTH_START_INTERVAL: '100ms',
  STEWARD_HEALTH_INTERVAL: '100ms',
  STEWARD_HEALTH_RETRIES: '2',
};

interface Views {
  readonly health: { code: number | null; out: string };
  readonly healthz: { status: number; body: string };
  readonly status: { health: { status: string; reason: string }; app: { pid: number | null; health: string } };
  readonly table: string;
}

/** What the three views say, once `--health` prints `expected` (checks run every 100 ms). */
async function viewsAt(socket: string, statusPort: number, expected: string): Promise<Views> {
  const health = await until(`steward --health to print ${JSON.stringify(expected)}`, async () => {
    const r = await client(socket, '--health');
    return r.out === expected ? r : undefined;
  });
  const res = await fetch(`http://127.0.0.1:${statusPort}/healthz`);
  const healthz = { status: res.status, body: await res.text() };
  const status = JSON.parse((await client(socket, '--status', '--json')).out) as Views['status'];
  const table = (await client(socket, '--status')).out;
  return { health, healthz, status, table };
}

function assertViews(v: Views, state: 'starting' | 'healthy' | 'unhealthy', reason: string): void {
  assert.equal(v.health.code, state === 'healthy' ? 0 : 1, v.health.out);
  assert.equal(v.healthz.status, state === 'healthy' ? 200 : 503);
  assert.equal(v.healthz.body, `${state}: ${reason}\n`);
  assert.deepEqual(v.status.health, { status: state, reason });
  assert.equal(v.status.app.health, state);
  assert.ok((v.status.app.pid ?? 0) > 0, 'the app runs throughout');
  assert.match(v.table.split('\n')[0] ?? '', new RegExp(`: ${state} \\(${reason.replace(/[()]/g, '\\$&')}\\)$`));
}

describe('steward --health, /healthz and --status driven by the health check', () => {
  it('follow a command check through starting, healthy, unhealthy and healthy again', async () => {
    const { dir, socket } = socketDir();
    const well = join(dir, 'well');
    const ran = join(dir, 'ran');
    const statusPort = await freePort();
    const s = startWebApp({
      ...TIMING,
      APP_PORT: String(await freePort()),
      STEWARD_CONTROL_SOCKET: socket,
      STEWARD_STATUS_ADDR: `127.0.0.1:${statusPort}`,
      // Each run leaves a line in `ran`, so that the test knows how many checks have failed.
      STEWARD_HEALTH_CMD: `sh -c 'echo ran >> ${ran}; test -f ${well}'`,
    });
    // More failures than RETRIES, all within the start period: starting, not unhealthy.
    await until('three checks to have run', () => readLines(ran).length >= 3);
    assertViews(await viewsAt(socket, statusPort, 'starting: health check: starting'), 'starting', 'health check: starting');

    writeFileSync(well, '');
    assertViews(await viewsAt(socket, statusPort, 'healthy: health check: healthy'), 'healthy', 'health check: healthy');

    rmSync(well);
    const sick = 'health check: unhealthy (exit status 1)';
    assertViews(await viewsAt(socket, statusPort, `unhealthy: ${sick}`), 'unhealthy', sick);

    writeFileSync(well, '');
    assertViews(await viewsAt(socket, statusPort, 'healthy: health check: healthy'), 'healthy', 'health check: healthy');

    assert.deepEqual(healthStates(s), ['healthy', 'unhealthy', 'healthy']);
    await s.signal('SIGTERM');
    assert.equal((await s.exited).code, 0);
  });

  it('follow an HTTP check as the app answers 503, 200, 503 and 200 again', async () => {
    const { socket } = socketDir();
    const appPort = await freePort();
    const statusPort = await freePort();
    const s = startWebApp({
      ...TIMING,
      APP_PORT: String(appPort),
      APP_SICK: '1',
      APP_SICK_LISTENS: '1',
      STEWARD_CONTROL_SOCKET: socket,
      STEWARD_STATUS_ADDR: `127.0.0.1:${statusPort}`,
      STEWARD_HEALTH_HTTP: `http://127.0.0.1:${appPort}/`,
    });
    // The app answers 503 from the start: its checks fail within the start period.
    await s.line(/^listening$/);
    assert.equal((await fetch(`http://127.0.0.1:${appPort}/`)).status, 503);
    assertViews(await viewsAt(socket, statusPort, 'starting: health check: starting'), 'starting', 'health check: starting');
    await s.signal('SIGUSR2');
    assertViews(await viewsAt(socket, statusPort, 'healthy: health check: healthy (HTTP 200 ok)'), 'healthy', 'health check: healthy (HTTP 200 ok)');

    await s.signal('SIGUSR1');
    const sick = 'health check: unhealthy (HTTP 503 sick)';
    assertViews(await viewsAt(socket, statusPort, `unhealthy: ${sick}`), 'unhealthy', sick);

    await s.signal('SIGUSR2');
    assertViews(await viewsAt(socket, statusPort, 'healthy: health check: healthy (HTTP 200 ok)'), 'healthy', 'health check: healthy (HTTP 200 ok)');

    assert.deepEqual(healthStates(s), ['healthy', 'unhealthy', 'healthy']);
    await s.signal('SIGTERM');
    assert.equal((await s.exited).code, 0);
  });
});
