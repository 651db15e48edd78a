// Registration in the shared directory (STEWARD_LOCK_DIR/services/<name>/<id>): critical while
// the app starts, passing once healthy, critical while sick, gone after SIGTERM; after SIGKILL
// of steward the record is no longer refreshed and readers drop it once its TTL has passed.

import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeConfdir } from '../support/confdir.ts';
import { runSteward, startSteward, stopAllStewards, APP, NODE } from '../support/steward.ts';
import { until } from '../support/until.ts';
import { fileRecord, freePort, serviceResource, SERVICE_TEMPLATE, startBackend, tempDir } from './harness.ts';

afterEach(stopAllStewards);
after(stopAllStewards);

test('file: registered passing when healthy, critical when sick, gone after SIGTERM', async () => {
  const dir = tempDir();
  const store = { STEWARD_SERVICE_BACKEND: 'file', STEWARD_LOCK_DIR: dir };
  const port = await freePort();
  const backend = startBackend(store, { name: 'web', id: 'web-1', port });
  const passing = await until('a passing record', () => (fileRecord(dir, 'web', 'web-1')?.['Status'] === 'passing' ? fileRecord(dir, 'web', 'web-1') : undefined), 20_000);
  assert.equal(passing?.['Address'], '127.0.0.1');
  assert.equal(passing?.['Port'], port);
  assert.deepEqual(passing?.['Tags'], ['a', 'b']);
  await backend.signal('SIGUSR1'); // the app turns sick
  await until('a critical record', () => fileRecord(dir, 'web', 'web-1')?.['Status'] === 'critical', 20_000);
  await backend.signal('SIGUSR2');
  await until('a passing record again', () => fileRecord(dir, 'web', 'web-1')?.['Status'] === 'passing', 20_000);
  await backend.signal('SIGTERM');
  await backend.exited;
  assert.equal(fileRecord(dir, 'web', 'web-1'), undefined);
});

test('file: a reader drops the record of a steward killed with SIGKILL once its TTL has passed', async () => {
  const dir = tempDir();
  const store = { STEWARD_SERVICE_BACKEND: 'file', STEWARD_LOCK_DIR: dir };
  const port = await freePort();
  const backend = startBackend(store, { name: 'web', id: 'web-1', port });
  await until('a passing record', () => fileRecord(dir, 'web', 'web-1')?.['Status'] === 'passing', 20_000);
  const confdir = makeConfdir({ 'services.toml': serviceResource('services.txt') }, { 'services.tmpl': SERVICE_TEMPLATE });
  const out = join(confdir.out, 'services.txt');
  const reader = startSteward([NODE, APP], { env: { ...store, CONFD_CONFDIR: confdir.dir, STEWARD_LOG_LEVEL: 'debug' } });
  await reader.line(/^ready/);
  assert.equal(readFileSync(out, 'utf8'), 'web-1 web 127.0.0.1:' + port + ' passing [a,b]\nweb=a,b;\n');
  // SIGKILL of steward: under unshare its app dies with it, and nothing deregisters.
  process.kill(await backend.stewardPid(), 'SIGKILL');
  await backend.exited;
  assert.notEqual(fileRecord(dir, 'web', 'web-1'), undefined, 'the record stays behind');
  await until('the reader to drop the expired record', () => readFileSync(out, 'utf8') === '\n', 10_000, () => readFileSync(out, 'utf8'));
});

test('file: a registry without STEWARD_LOCK_DIR is a configuration error before the app starts', async () => {
  const r = await runSteward([NODE, APP], { env: { STEWARD_SERVICE_NAME: 'web', STEWARD_SERVICE_BACKEND: 'file', STEWARD_LOCK_DIR: undefined } });
  assert.equal(r.code, 78);
  assert.match(r.stderr, /STEWARD_LOCK_DIR/);
  assert.deepEqual(r.stdout.filter((l) => l.startsWith('ready')), []);
});
