// ?acquire / ?release and what session invalidation does to held locks, checked against the
// KV page (acquire/release parameters), the sessions overview (lock-delay, behaviors) and
// agent/consul/state/kvs.go (kvsLockTxn, kvsUnlockTxn) and session.go (deleteSessionTxn).

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { frozenClock, startConsulDouble, type ConsulDouble } from '../support/consul/double.ts';
import { call, type KvJson } from './http-client.ts';

let consul: ConsulDouble;
beforeEach(async () => {
  consul = await startConsulDouble({ blockingJitter: false, clock: frozenClock() });
});
afterEach(async () => {
  await consul.stop();
});

async function session(body: Record<string, unknown> = {}): Promise<string> {
  const res = await call(consul.url, 'PUT', '/v1/session/create', { body: JSON.stringify(body) });
  assert.equal(res.status, 200, res.text);
  return res.json<{ ID: string }>().ID;
}
const put = (path: string, body = '') => call(consul.url, 'PUT', path, { body });
async function read(key: string): Promise<KvJson | undefined> {
  const res = await call(consul.url, 'GET', `/v1/kv/${key}`);
  return res.status === 404 ? undefined : res.json<KvJson[]>()[0];
}

describe('acquire and release', () => {
  it('acquiring a missing key creates it with LockIndex 1 and Session set', async () => {
    const id = await session();
    assert.equal((await put(`/v1/kv/lock?acquire=${id}`, 'me')).text, 'true');
    const entry = await read('lock');
    assert.equal(entry?.LockIndex, 1);
    assert.equal(entry?.Session, id);
    assert.equal(Buffer.from(entry?.Value ?? '', 'base64').toString(), 'me');
  });

  it('the holder may acquire again to update the value without bumping LockIndex', async () => {
    const id = await session();
    await put(`/v1/kv/lock?acquire=${id}`, 'one');
    assert.equal((await put(`/v1/kv/lock?acquire=${id}`, 'two')).text, 'true');
    const entry = await read('lock');
    assert.equal(entry?.LockIndex, 1);
    assert.equal(Buffer.from(entry?.Value ?? '', 'base64').toString(), 'two');
  });

  it('another session cannot acquire a held lock', async () => {
    const a = await session();
    const b = await session();
    await put(`/v1/kv/lock?acquire=${a}`, 'a');
    assert.equal((await put(`/v1/kv/lock?acquire=${b}`, 'b')).text, 'false');
    assert.equal((await read('lock'))?.Session, a);
  });

  it('only the holder releases; release keeps LockIndex, clears Session and writes the body', async () => {
    const a = await session();
    const b = await session();
    await put(`/v1/kv/lock?acquire=${a}`, 'a');
    assert.equal((await put(`/v1/kv/lock?release=${b}`)).text, 'false');
    assert.equal((await put('/v1/kv/unlocked?release=' + a)).text, 'false', 'nothing to release');
    assert.equal((await put(`/v1/kv/lock?release=${a}`, 'released')).text, 'true');
    const entry = await read('lock');
    assert.equal(entry?.Session, undefined);
    assert.equal(entry?.LockIndex, 1);
    assert.equal(Buffer.from(entry?.Value ?? '', 'base64').toString(), 'released');
    assert.equal((await put(`/v1/kv/lock?acquire=${b}`, 'b')).text, 'true');
    assert.equal((await read('lock'))?.LockIndex, 2);
  });

  it('a plain PUT on a locked key keeps the holder but resets LockIndex, as Consul does', async () => {
    const a = await session();
    await put(`/v1/kv/lock?acquire=${a}`, 'a');
    await put('/v1/kv/lock', 'overwritten');
    const entry = await read('lock');
    assert.equal(entry?.Session, a);
    assert.equal(entry?.LockIndex, 0);
  });

  it('acquire with an unknown session is a 500 from the raft apply', async () => {
    const res = await put('/v1/kv/lock?acquire=11111111-2222-3333-4444-555555555555', 'x');
    assert.equal(res.status, 500);
    assert.equal(res.text, 'raft apply failed: invalid session "11111111-2222-3333-4444-555555555555"');
    const empty = await put('/v1/kv/lock?acquire=', 'x');
    assert.equal(empty.text, 'raft apply failed: missing session');
  });
});

describe('invalidation', () => {
  it('destroying the holder releases the lock and starts the lock-delay', async () => {
    const holder = await session({ LockDelay: '10s' });
    const waiting = await session();
    await put(`/v1/kv/leader?acquire=${holder}`, 'h');
    await call(consul.url, 'PUT', `/v1/session/destroy/${holder}`);
    const entry = await read('leader');
    assert.equal(entry?.Session, undefined, 'release behavior keeps the key');
    assert.equal((await put(`/v1/kv/leader?acquire=${waiting}`, 'w')).text, 'false', 'inside the lock-delay');
    consul.advanceTime(9_999);
    assert.equal((await put(`/v1/kv/leader?acquire=${waiting}`, 'w')).text, 'false');
    consul.advanceTime(1);
    assert.equal((await put(`/v1/kv/leader?acquire=${waiting}`, 'w')).text, 'true');
    assert.equal((await read('leader'))?.LockIndex, 2);
  });

  it('a lock-delay of 0 allows an immediate re-acquire', async () => {
    const holder = await session({ LockDelay: '0s' });
    const next = await session();
    await put(`/v1/kv/leader?acquire=${holder}`);
    consul.expireSession(holder);
    assert.equal((await put(`/v1/kv/leader?acquire=${next}`)).text, 'true');
  });

  it('the lock-delay is capped at 60s', async () => {
    const holder = await session({ LockDelay: '5m' });
    const next = await session();
    await put(`/v1/kv/leader?acquire=${holder}`);
    consul.expireSession(holder);
    consul.advanceTime(60_000);
    assert.equal((await put(`/v1/kv/leader?acquire=${next}`)).text, 'true');
  });

  it('Behavior delete removes the keys the session held', async () => {
    const holder = await session({ Behavior: 'delete' });
    await put(`/v1/kv/ephemeral/a?acquire=${holder}`, 'x');
    await put('/v1/kv/ephemeral/b', 'not locked');
    consul.expireSession(holder);
    assert.equal(await read('ephemeral/a'), undefined);
    assert.ok(await read('ephemeral/b'));
  });

  it('TTL expiry releases the lock and wakes a reader blocked on the key', async () => {
    const holder = await session({ TTL: '10s' });
    await put(`/v1/kv/leader?acquire=${holder}`, 'h');
    const current = await call(consul.url, 'GET', '/v1/kv/leader');
    const blocked = call(consul.url, 'GET', `/v1/kv/leader?index=${current.index}`);
    await consul.waitForParked(1);
    const invalidated = once(consul.events, 'session-invalidated');
    consul.advanceTime(20_000);
    const [event] = await invalidated;
    assert.deepEqual(event, { id: holder, reason: 'ttl', keys: ['leader'] });
    const res = await blocked;
    assert.equal(res.json<KvJson[]>()[0]?.Session, undefined);
    assert.ok(res.index! > current.index!);
  });

  it('test controls can hold a lock as another client would', async () => {
    const other = consul.createSession({ name: 'other instance', lockDelayMs: 1000 });
    assert.ok(consul.acquire('leader', other.id, 'other'));
    const mine = await session();
    assert.equal((await put(`/v1/kv/leader?acquire=${mine}`)).text, 'false');
    consul.expireSession(other.id);
    consul.advanceTime(1000);
    assert.equal((await put(`/v1/kv/leader?acquire=${mine}`)).text, 'true');
  });
});
