// Fault controls: a partitioned agent (pause), a dead agent (refused connections) and a
// cluster without a leader (Consul's "No cluster leader" answers).

import assert from 'node:assert/strict';
import { once } from 'node:events';
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

describe('pause and resume', () => {
  it('holds new requests unanswered and unapplied until resume', async () => {
    consul.pause();
    const held = once(consul.events, 'held');
    const write = track(call(consul.url, 'PUT', '/v1/kv/k', { body: 'during pause' }));
    const [kind, request] = await held;
    assert.equal(kind, 'request');
    assert.equal(request.path, '/v1/kv/k');
    await turn();
    assert.equal(write.settled, false);
    assert.equal(consul.get('k'), undefined, 'the agent never saw the write');
    consul.resume();
    assert.equal((await write.promise).text, 'true');
    assert.equal(consul.get('k')?.value.toString(), 'during pause');
  });

  it('holds back the answer of a parked query whose key changed during the pause', async () => {
    const entry = consul.put('k', 'v1');
    const blocked = track(call(consul.url, 'GET', `/v1/kv/k?index=${entry.modifyIndex}`));
    await consul.waitForParked(1);
    consul.pause();
    const held = once(consul.events, 'held');
    consul.put('k', 'v2');
    const [kind] = await held;
    assert.equal(kind, 'reply');
    await turn();
    assert.equal(blocked.settled, false);
    consul.resume();
    const res = await blocked.promise;
    assert.equal(Buffer.from(res.json<KvJson[]>()[0]?.Value ?? '', 'base64').toString(), 'v2');
  });
});

describe('refused connections', () => {
  it('closes the listener and live connections, then listens on the same port again', async () => {
    const entry = consul.put('k', 'v');
    const blocked = call(consul.url, 'GET', `/v1/kv/k?index=${entry.modifyIndex}`);
    await consul.waitForParked(1);
    const unparked = once(consul.events, 'unparked');
    await consul.refuseConnections();
    await assert.rejects(blocked, { code: 'ECONNRESET' });
    await unparked;
    await assert.rejects(call(consul.url, 'GET', '/v1/kv/k'), { code: 'ECONNREFUSED' });
    await consul.acceptConnections();
    const res = await call(consul.url, 'GET', '/v1/kv/k?raw');
    assert.equal(res.text, 'v');
  });
});

describe('no cluster leader', () => {
  it('fails default and consistent reads and all writes; stale reads still answer', async () => {
    consul.put('k', 'v');
    consul.setLeader(false);
    for (const [method, path] of [
      ['GET', '/v1/kv/k'],
      ['GET', '/v1/kv/k?consistent'],
      ['PUT', '/v1/kv/k'],
      ['PUT', '/v1/session/create'],
    ] as const) {
      const res = await call(consul.url, method, path);
      assert.equal(res.status, 500, `${method} ${path}`);
      assert.equal(res.text, 'No cluster leader');
    }
    const stale = await call(consul.url, 'GET', '/v1/kv/k?stale');
    assert.equal(stale.status, 200);
    assert.equal(stale.headers['x-consul-knownleader'], 'false');
    assert.equal((await call(consul.url, 'GET', '/v1/status/leader')).json(), '');
    consul.setLeader(true);
    assert.equal((await call(consul.url, 'GET', '/v1/kv/k')).status, 200);
    assert.equal((await call(consul.url, 'GET', '/v1/status/leader')).json(), '127.0.0.1:8300');
    assert.deepEqual((await call(consul.url, 'GET', '/v1/status/peers')).json(), ['127.0.0.1:8300']);
  });
});
