// Blocking queries, checked against developer.hashicorp.com/consul/api-docs/features/blocking
// and agent/blockingquery/blockingquery.go. Time-outs are driven with advanceTime(), so no
// test waits for a real timer.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { frozenClock, startConsulDouble, type ConsulDouble } from '../support/consul/double.ts';
import { call, track, turn, type KvJson } from './http-client.ts';

let consul: ConsulDouble;
beforeEach(async () => {
  consul = await startConsulDouble({ blockingJitter: false, clock: frozenClock() });
});
afterEach(async () => {
  await consul.stop();
});

const get = (path: string) => call(consul.url, 'GET', path);
const valueOf = (entries: KvJson[]): string => Buffer.from(entries[0]?.Value ?? '', 'base64').toString();

describe('single key', () => {
  it('parks until the watched key changes, then answers with the new value and index', async () => {
    const first = consul.put('app/config', 'v1');
    const pending = track(get(`/v1/kv/app/config?index=${first.modifyIndex}&wait=5m`));
    await consul.waitForParked(1);
    assert.equal(pending.settled, false);
    const second = consul.put('app/config', 'v2');
    const res = await pending.promise;
    assert.equal(res.status, 200);
    assert.equal(res.index, second.modifyIndex);
    assert.equal(valueOf(res.json<KvJson[]>()), 'v2');
  });

  it('is not woken by a write to another key, or by an identical write', async () => {
    const first = consul.put('app/config', 'v1');
    const pending = track(get(`/v1/kv/app/config?index=${first.modifyIndex}`));
    await consul.waitForParked(1);
    consul.put('app/other', 'x');
    consul.put('app/config', 'v1');
    consul.put('app/config-2', 'y');
    await turn();
    assert.equal(consul.parkedQueries(), 1);
    assert.equal(pending.settled, false);
    consul.put('app/config', 'v3');
    assert.equal(valueOf((await pending.promise).json<KvJson[]>()), 'v3');
  });

  it('answers at once when ?index is below the current index', async () => {
    const first = consul.put('k', 'a');
    consul.put('k', 'b');
    const res = await get(`/v1/kv/k?index=${first.modifyIndex}&wait=10m`);
    assert.equal(valueOf(res.json<KvJson[]>()), 'b');
    assert.equal(consul.parkedQueries(), 0);
  });

  it('does not block with ?index=0 or without ?index', async () => {
    consul.put('k', 'a');
    assert.equal((await get('/v1/kv/k?index=0&wait=10m')).status, 200);
    assert.equal((await get('/v1/kv/k?wait=10m')).status, 200);
  });

  it('wakes with 404 and a higher index when the key is deleted', async () => {
    const entry = consul.put('gone', 'x');
    const pending = get(`/v1/kv/gone?index=${entry.modifyIndex}`);
    await consul.waitForParked(1);
    consul.delete('gone');
    const res = await pending;
    assert.equal(res.status, 404);
    assert.ok(res.index! > entry.modifyIndex);
  });

  it('on a missing key keeps blocking through unrelated writes and answers once it is created', async () => {
    consul.put('unrelated', '1');
    const missing = await get('/v1/kv/later');
    assert.equal(missing.status, 404);
    const pending = track(get(`/v1/kv/later?index=${missing.index}`));
    await consul.waitForParked(1);
    consul.put('unrelated', '2');
    consul.put('lat', '3');
    await turn();
    assert.equal(pending.settled, false);
    const created = consul.put('later', 'here');
    const res = await pending.promise;
    assert.equal(res.status, 200);
    assert.equal(res.index, created.modifyIndex);
  });
});

describe('wait', () => {
  it('times out after ?wait and returns the same index and value', async () => {
    const entry = consul.put('k', 'v');
    const pending = track(get(`/v1/kv/k?index=${entry.modifyIndex}&wait=30s`));
    await consul.waitForParked(1);
    consul.advanceTime(29_999);
    await turn();
    assert.equal(pending.settled, false);
    consul.advanceTime(1);
    const res = await pending.promise;
    assert.equal(res.status, 200);
    assert.equal(res.index, entry.modifyIndex);
    assert.equal(valueOf(res.json<KvJson[]>()), 'v');
  });

  it('defaults to 5 minutes and caps at 10 minutes', async () => {
    const entry = consul.put('k', 'v');
    const byDefault = track(get(`/v1/kv/k?index=${entry.modifyIndex}`));
    const capped = track(get(`/v1/kv/k?index=${entry.modifyIndex}&wait=1h`));
    await consul.waitForParked(2);
    consul.advanceTime(5 * 60_000);
    assert.equal((await byDefault.promise).index, entry.modifyIndex);
    assert.equal(capped.settled, false);
    consul.advanceTime(5 * 60_000 - 1);
    await turn();
    assert.equal(capped.settled, false);
    consul.advanceTime(1);
    assert.equal((await capped.promise).index, entry.modifyIndex);
  });

  it('adds at most wait/16 of jitter', async () => {
    const jittery = await startConsulDouble({ blockingJitter: true, clock: frozenClock() });
    try {
      const entry = jittery.put('k', 'v');
      const pending = track(call(jittery.url, 'GET', `/v1/kv/k?index=${entry.modifyIndex}&wait=160s`));
      await jittery.waitForParked(1);
      jittery.advanceTime(159_999);
      await turn();
      assert.equal(pending.settled, false, 'not before wait');
      jittery.advanceTime(10_001);
      assert.equal((await pending.promise).index, entry.modifyIndex, 'by wait + wait/16');
    } finally {
      await jittery.stop();
    }
  });

  it('a timed-out 404 keeps the index it was asked with or the current table index', async () => {
    consul.put('x', '1');
    const first = await get('/v1/kv/missing');
    const pending = get(`/v1/kv/missing?index=${first.index}&wait=1s`);
    await consul.waitForParked(1);
    consul.advanceTime(1000);
    const res = await pending;
    assert.equal(res.status, 404);
    assert.equal(res.index, first.index);
  });
});

describe('prefix queries', () => {
  it('?recurse wakes on any change under the prefix, including deletes, and not outside it', async () => {
    consul.put('svc/a', '1');
    consul.put('svc/b', '2');
    const list = await get('/v1/kv/svc/?recurse');
    const pending = track(get(`/v1/kv/svc/?recurse&index=${list.index}`));
    await consul.waitForParked(1);
    consul.put('svcx', 'outside');
    consul.put('other/svc/a', 'outside');
    await turn();
    assert.equal(pending.settled, false);
    consul.delete('svc/a');
    const res = await pending.promise;
    assert.deepEqual(res.json<KvJson[]>().map((e) => e.Key), ['svc/b']);
    assert.ok(res.index! > list.index!);
  });

  it('?keys blocks the same way', async () => {
    consul.put('cfg/a', '1');
    const keys = await get('/v1/kv/cfg/?keys');
    const pending = get(`/v1/kv/cfg/?keys&index=${keys.index}`);
    await consul.waitForParked(1);
    consul.put('cfg/b', '2');
    assert.deepEqual((await pending).json(), ['cfg/a', 'cfg/b']);
  });
});

describe('index going backwards', () => {
  it('a snapshot restore releases parked queries and later reads show a lower index', async () => {
    for (let i = 0; i < 5; i++) consul.put('k', `v${i}`);
    const current = await get('/v1/kv/k');
    const pending = get(`/v1/kv/k?index=${current.index}`);
    await consul.waitForParked(1);
    consul.restoreSnapshot(3);
    const released = await pending;
    assert.equal(released.status, 200);
    const after = await get('/v1/kv/k');
    assert.equal(after.index, 3);
    assert.ok(after.index! < current.index!, 'clients must notice and reset their index to 0');
    // A client that keeps the old, higher index blocks until its wait runs out.
    const stuck = track(get(`/v1/kv/k?index=${current.index}&wait=1m`));
    await consul.waitForParked(1);
    consul.put('k', 'after restore');
    await turn();
    assert.equal(stuck.settled, false, 'the new write has index 4, still below the old index');
    consul.advanceTime(60_000);
    assert.equal((await stuck.promise).index, 4);
  });
});

describe('request log', () => {
  it('records method, path and query so a test can see that a client blocks instead of polling', async () => {
    const entry = consul.put('k', 'v');
    consul.clearRequests();
    const pending = get(`/v1/kv/k?index=${entry.modifyIndex}&wait=1m&stale`);
    const request = await consul.waitForRequest((r) => r.path === '/v1/kv/k');
    assert.equal(request.method, 'GET');
    assert.deepEqual(request.query, { index: String(entry.modifyIndex), wait: '1m', stale: '' });
    await consul.waitForParked(1);
    consul.put('k', 'w');
    await pending;
    assert.equal(consul.requests((r) => r.path === '/v1/kv/k').length, 1);
  });
});
