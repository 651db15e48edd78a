// The registration lifecycle on Consul (the double) and etcd: critical while the app starts,
// passing once healthy, critical while sick; gone right after SIGTERM (deregistered before the
// app is stopped); after SIGKILL of steward, critical within the TTL and then removed (Consul:
// DeregisterCriticalServiceAfter; etcd: the lease expires with the TTL).

import { after, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stopAllStewards } from '../support/steward.ts';
import { etcdSkipReason } from '../support/etcd.ts';
import { until } from '../support/until.ts';
import { freePort, startBackend } from './harness.ts';
import { consulStore, etcdStore, type TestStore } from './stores.ts';

afterEach(stopAllStewards);
after(stopAllStewards);

async function healthFollowsTheApp(store: TestStore): Promise<void> {
  const port = await freePort();
  const backend = startBackend(store.env, { name: 'web', id: 'web-1', port, extra: { STEWARD_DEREGISTER_DELAY: '2s' } });
  await until('a passing registration', async () => (await store.status('web', 'web-1')) === 'passing', 20_000);
  await backend.signal('SIGUSR1');
  await until('a critical registration', async () => (await store.status('web', 'web-1')) === 'critical', 20_000);
  await backend.signal('SIGUSR2');
  await until('passing again', async () => (await store.status('web', 'web-1')) === 'passing', 20_000);
  await backend.line(/^listening/);
  await backend.signal('SIGTERM');
  // Deregistered first: gone while the app still runs (it is stopped STEWARD_DEREGISTER_DELAY later).
  await until('the registration to go', async () => (await store.status('web', 'web-1')) === undefined, 10_000);
  const answer = await fetch(`http://127.0.0.1:${port}/`);
  assert.equal(answer.status, 200, 'the app still serves during STEWARD_DEREGISTER_DELAY');
  await backend.exited;
}

describe('registration on Consul (the double)', () => {
  test('follows the app\'s health, and is gone after SIGTERM', async () => {
    const store = await consulStore();
    try {
      await healthFollowsTheApp(store);
    } finally {
      await store.stop();
    }
  });

  test('after SIGKILL of steward the check goes critical within its TTL, then DeregisterCriticalServiceAfter removes it', async () => {
    const store = await consulStore();
    try {
      const backend = startBackend(store.env, { name: 'web', id: 'web-1', port: await freePort(), extra: { STEWARD_SERVICE_DEREGISTER_AFTER: '2s' } });
      await until('a passing registration', async () => (await store.status('web', 'web-1')) === 'passing', 20_000);
      process.kill(await backend.stewardPid(), 'SIGKILL');
      await backend.exited;
      const killedAt = performance.now();
      await until('the check to go critical', () => store.consul.catalog.check('service:web-1')?.Status === 'critical', 10_000);
      assert.equal(store.consul.catalog.check('service:web-1')?.Output, 'TTL expired');
      assert.ok(performance.now() - killedAt <= 2000 + 1000, 'within the TTL (2 s)');
      await until('the service to be removed', async () => (await store.status('web', 'web-1')) === undefined, 10_000);
    } finally {
      await store.stop();
    }
  });
});

describe('registration on etcd', { skip: etcdSkipReason() }, () => {
  test('follows the app\'s health, and is gone after SIGTERM', async () => {
    const store = await etcdStore();
    try {
      await healthFollowsTheApp(store);
    } finally {
      await store.stop();
    }
  });

  test('after SIGKILL of steward the record goes with its lease', async () => {
    const store = await etcdStore();
    try {
      const backend = startBackend(store.env, { name: 'web', id: 'web-1', port: await freePort() });
      await until('a passing registration', async () => (await store.status('web', 'web-1')) === 'passing', 20_000);
      process.kill(await backend.stewardPid(), 'SIGKILL');
      await backend.exited;
      await until('the record to expire', async () => (await store.status('web', 'web-1')) === undefined, 10_000);
    } finally {
      await store.stop();
    }
  });
});
