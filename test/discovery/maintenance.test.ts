// `steward --maintenance on|off` through the control socket: the service gets Consul's
// maintenance check (no traffic, though the app stays healthy), the shared directory's record a
// maintenance status; off brings it back. A steward registering nothing says so.

import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { client, socketDir } from '../support/operator.ts';
import { APP, NODE, startSteward, stopAllStewards } from '../support/steward.ts';
import { until } from '../support/until.ts';
import { freePort, startBackend } from './harness.ts';
import { consulStore, fileStore, type TestStore } from './stores.ts';

afterEach(stopAllStewards);
after(stopAllStewards);

async function maintenance(store: TestStore): Promise<void> {
  const { socket } = socketDir();
  startBackend(store.env, { name: 'web', id: 'web-1', port: await freePort(), extra: { STEWARD_CONTROL_SOCKET: socket } });
  await until('a passing registration', async () => (await store.status('web', 'web-1')) === 'passing', 20_000);
  const on = await client(socket, '--maintenance', 'on');
  assert.equal(on.code, 0, on.out);
  assert.equal(await store.status('web', 'web-1'), 'maintenance');
  const off = await client(socket, '--maintenance=off');
  assert.equal(off.code, 0, off.out);
  assert.equal(await store.status('web', 'web-1'), 'passing');
}

test('maintenance on Consul (the double)', async () => {
  const store = await consulStore();
  try {
    await maintenance(store);
    assert.equal(store.consul.catalog.check('_service_maintenance:web-1'), undefined);
  } finally {
    await store.stop();
  }
});

test('maintenance in the shared directory', async () => {
  await maintenance(fileStore());
});

test('--maintenance without a registered service, or with a bad word', async () => {
  const { socket } = socketDir();
  const s = startSteward([NODE, APP], { env: { STEWARD_CONTROL_SOCKET: socket } });
  await s.line(/^ready/);
  const r = await client(socket, '--maintenance', 'on');
  assert.equal(r.code, 1);
  assert.match(r.out, /no service is registered/);
  const bad = await client(socket, '--maintenance', 'maybe');
  assert.equal(bad.code, 64);
});
