// /status and /healthz over HTTP: the document validates against the schema published in
// docs/operations.md after renders, an election, a job run and a failed render, and shows no value.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { STATUS_SCHEMA } from '../../src/control/status-schema.ts';
import type { StatusDocument } from '../../src/control/status-document.ts';
import { client, fileConfig, freePort, socketDir } from '../support/operator.ts';
import { APP, NODE, ROOT, runSteward, startSteward, stopAllStewards } from '../support/steward.ts';
import { until } from '../support/until.ts';

afterEach(stopAllStewards);

const DATE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

function validator() {
  const ajv = new Ajv2020({ strict: true, allErrors: true, formats: { 'date-time': DATE_TIME } });
  return ajv.compile(STATUS_SCHEMA);
}

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
}

describe('the status endpoint', () => {
  it('publishes in docs/operations.md the schema it is validated with', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8');
    const block = /```json status-schema\n([\s\S]*?)\n```/.exec(doc);
    assert.ok(block !== null, 'docs/operations.md has a ```json status-schema block');
    assert.deepEqual(JSON.parse(block[1] ?? ''), STATUS_SCHEMA);
  });

  it('validates after renders, an election, a job run and a failed render, and never shows a value', async () => {
    const validate = validator();
    const port = await freePort();
    const { socket } = socketDir();
    const c = fileConfig('app:\n  host: s3cr3t-db\n');
    const lockDir = mkdtempSync(join(tmpdir(), 'steward-status-lock-'));
    const s = startSteward([NODE, APP], {
      env: {
        ...c.env,
        STEWARD_CONTROL_SOCKET: socket,
        STEWARD_STATUS_ADDR: String(port),
        STEWARD_ELECTION: 'status-test',
        STEWARD_LOCK_DIR: lockDir,
        STEWARD_ELECTION_TTL: '2s',
        STEWARD_JOB_HELLO_SCHEDULE: '0 0 1 1 *',
        STEWARD_JOB_HELLO_COMMAND: 'sh -c "echo hello; exit 4"',
      },
    });
    await s.line(/^ready/);
    const read = async (): Promise<StatusDocument> => {
      const r = await get(port, '/status');
      assert.equal(r.status, 200);
      assert.doesNotMatch(r.body, /s3cr3t/, 'no rendered value');
      const doc = JSON.parse(r.body) as unknown;
      assert.ok(validate(doc), JSON.stringify(validate.errors, null, 2));
      return doc as StatusDocument;
    };

    const rendered = await until('the election to settle', async () => {
      const d = await read();
      return d.election?.role === 'leader' ? d : undefined;
    });
    assert.deepEqual(rendered.resources.map((r) => [r.name, r.revision, r.lastOutcome, r.lastError]), [['app.toml', 1, 'written', null]]);
    assert.equal(rendered.election?.holdsFencingToken, true);
    assert.equal(rendered.election?.members.length, 1);
    assert.equal(rendered.health.status, 'healthy');
    assert.equal((await get(port, '/healthz')).status, 200);

    const job = await client(socket, '--run-job', 'hello');
    assert.equal(job.code, 1);
    assert.match(job.out, /^hello failed in \d+\.\ds: /);
    const afterJob = await read();
    assert.deepEqual(afterJob.jobs.map((j) => [j.name, j.ok, j.exitCode, j.running]), [['hello', false, 4, false]]);
    assert.ok((afterJob.jobs[0]?.durationMs ?? -1) >= 0);
    assert.match(afterJob.jobs[0]?.nextRun ?? '', DATE_TIME);

    c.setValues('app:\n  port: 1\n');
    const failed = await until('the failed render', async () => {
      const d = await read();
      return d.resources[0]?.lastOutcome === 'missing-key' ? d : undefined;
    });
    assert.match(failed.resources[0]?.lastError ?? '', /\/app\/host/);
    assert.equal(failed.resources[0]?.revision, 1, 'the last good file stays');
    assert.equal(failed.health.status, 'healthy');

    c.setValues('app:\n  host: s3cr3t-db2\n');
    await s.line(/^got SIGHUP$/);
    const reloaded = await until('the new revision', async () => {
      const d = await read();
      return d.resources[0]?.revision === 2 ? d : undefined;
    });
    assert.equal(reloaded.resources[0]?.reloads, 1);
    assert.equal(reloaded.resources[0]?.lastError, null);

    await s.signal('SIGTERM');
    await s.exited;
  });

  it('is not served by a one-shot run beside the steward that serves it', async () => {
    const port = await freePort();
    const c = fileConfig('app:\n  host: db1\n');
    const env = { ...c.env, STEWARD_CONTROL_SOCKET: 'off', STEWARD_STATUS_ADDR: String(port), STEWARD_METRICS_ADDR: String(await freePort()) };
    const s = startSteward([NODE, APP], { env });
    await s.line(/^ready/);
    const once = await runSteward(['--once'], { env, pid1: false });
    assert.equal(once.code, 0, once.stderr);
    assert.equal((await get(port, '/healthz')).status, 200);
    await s.signal('SIGTERM');
    await s.exited;
  });

  it('answers 503 with the reason while starting, is read-only, and binds to loopback by default', async () => {
    const port = await freePort();
    const c = fileConfig('other: 1\n');
    const s = startSteward([NODE, APP], { env: { ...c.env, STEWARD_CONTROL_SOCKET: 'off', STEWARD_STATUS_ADDR: `:${port}` } });
    const r = await until('the endpoint', async () => get(port, '/healthz').catch(() => undefined));
    assert.equal(r.status, 503);
    assert.equal(r.body, 'starting: the app has not started yet\n');
    assert.equal((await fetch(`http://127.0.0.1:${port}/status`, { method: 'POST' })).status, 405);
    assert.equal((await get(port, '/metrics')).status, 404);
    assert.match(s.stderr(), new RegExp(`serving /healthz, /status on 127\\.0\\.0\\.1:${port}`));
    await s.signal('SIGTERM');
    await s.exited;
  });
});
