// Jobs guarded by WHEN=healthy, and STEWARD_WAIT_FOR=healthy:<url or host:port>.

import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { startSteward, stopAllStewards } from '../support/steward.ts';
import { until } from '../support/until.ts';
import { freePort, healthLogged, logLines, startWebApp } from './fixtures/harness.ts';

afterEach(stopAllStewards);

describe('WHEN=healthy', () => {
  it('runs a job only while the app is healthy', async () => {
    const port = await freePort();
    const s = startWebApp({
      APP_PORT: String(port),
      APP_SICK: '1',
      STEWARD_HEALTH_HTTP: `http://127.0.0.1:${port}/`,
      STEWARD_HEALTH_START_PERIOD: '60s',
      STEWARD_HEALTH_START_INTERVAL: '100ms',
      STEWARD_JOB_TICK_SCHEDULE: '* * * * * *',
      STEWARD_JOB_TICK_COMMAND: 'true',
      STEWARD_JOB_TICK_WHEN: 'healthy',
    });
    await until('a skipped tick', () => logLines(s).some((l) => /^job tick: not run here, when = healthy does not hold/.test(l.msg)));
    await s.line(/^started pid=/);
    await s.signal('SIGUSR2');
    await healthLogged(s, 'healthy');
    await until('a run of the job', () => logLines(s).some((l) => l.msg === 'job tick succeeded'));
    const msgs = logLines(s).map((l) => l.msg);
    assert.ok(msgs.indexOf('app is healthy') < msgs.indexOf('job tick succeeded'), 'no run before the app was healthy');
  });

  it('is a configuration error (exit 78) without a health check', async () => {
    const s = startSteward(['true'], { env: { STEWARD_JOB_TICK_SCHEDULE: '* * * * *', STEWARD_JOB_TICK_COMMAND: 'true', STEWARD_JOB_TICK_WHEN: 'healthy' } });
    assert.equal((await s.exited).code, 78);
    assert.match(s.stderr(), /STEWARD_JOB_TICK_WHEN: "healthy" needs a health check/);
  });
});

describe('STEWARD_WAIT_FOR=healthy:', () => {
  it('starts the app once the URL answers 2xx and the address accepts connections', async () => {
    const httpPort = await freePort();
    const tcpPort = await freePort();
    const s = startSteward(['sh', '-c', 'echo started; sleep 30'], {
      env: { STEWARD_WAIT_FOR: `healthy:http://127.0.0.1:${httpPort}/ready,healthy:127.0.0.1:${tcpPort}`, STEWARD_LOG_LEVEL: 'info' },
    });
    let answer = 503;
    const web = createHttpServer((_req, res) => {
      res.writeHead(answer);
      res.end();
    });
    const tcp = createTcpServer((socket) => socket.destroy());
    try {
      await new Promise<void>((resolve) => web.listen(httpPort, '127.0.0.1', resolve));
      await new Promise<void>((resolve) => tcp.listen(tcpPort, '127.0.0.1', resolve));
      await until('the address to hold', () => s.stderr().includes(`healthy:127.0.0.1:${tcpPort} holds`));
      assert.ok(!s.stdoutLines().includes('started'), 'not started while the URL answers 503');
      answer = 204;
      await s.line(/^started$/);
    } finally {
      web.close();
      tcp.close();
    }
  });

  it('rejects a condition that is neither a URL nor HOST:PORT with exit 78', async () => {
    const s = startSteward(['true'], { env: { STEWARD_WAIT_FOR: 'healthy:nowhere' } });
    assert.equal((await s.exited).code, 78);
    assert.match(s.stderr(), /invalid condition "healthy:nowhere"/);
  });
});
