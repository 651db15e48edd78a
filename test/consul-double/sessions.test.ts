// Session endpoints, checked against developer.hashicorp.com/consul/api-docs/session and
// agent/session_endpoint.go, agent/consul/session_endpoint.go, session_ttl.go.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { frozenClock, startConsulDouble, type ConsulDouble, type ConsulDoubleOptions } from '../support/consul/double.ts';
import { systemClock } from '../../src/core/clock.ts';
import { call, track, turn, type SessionJson } from './http-client.ts';

let consul: ConsulDouble;
async function restart(options: ConsulDoubleOptions = {}): Promise<void> {
  await consul.stop();
  consul = await startConsulDouble({ blockingJitter: false, clock: frozenClock(), ...options });
}
beforeEach(async () => {
  consul = await startConsulDouble({ blockingJitter: false, clock: frozenClock() });
});
afterEach(async () => {
  await consul.stop();
});

const create = (body?: unknown) =>
  call(consul.url, 'PUT', '/v1/session/create', body === undefined ? {} : { body: JSON.stringify(body) });
async function createId(body?: unknown): Promise<string> {
  const res = await create(body);
  assert.equal(res.status, 200, res.text);
  return res.json<{ ID: string }>().ID;
}
const info = (id: string, query = '') => call(consul.url, 'GET', `/v1/session/info/${id}${query}`);

describe('create', () => {
  it('defaults to the agent node, serfHealth, 15s lock-delay, release and no TTL', async () => {
    const id = await createId();
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const res = await info(id);
    assert.equal(res.status, 200);
    const [session] = res.json<SessionJson[]>();
    assert.deepEqual(session, {
      ID: id,
      Name: '',
      Node: 'consul-double',
      LockDelay: 15_000_000_000,
      Behavior: 'release',
      TTL: '',
      NodeChecks: ['serfHealth'],
      ServiceChecks: null,
      CreateIndex: session?.CreateIndex,
      ModifyIndex: session?.CreateIndex,
    });
    assert.equal(res.index, session?.CreateIndex);
  });

  it('takes Name, TTL, LockDelay and Behavior; field names are case-insensitive', async () => {
    const id = await createId({ name: 'leader', ttl: '30s', LockDelay: '5s', behavior: 'delete' });
    const [session] = (await info(id)).json<SessionJson[]>();
    assert.equal(session?.Name, 'leader');
    assert.equal(session?.TTL, '30s');
    assert.equal(session?.LockDelay, 5e9);
    assert.equal(session?.Behavior, 'delete');
  });

  it('reads a small numeric LockDelay as seconds and accepts 0', async () => {
    const seconds = await createId({ LockDelay: 15 });
    assert.equal(consul.session(seconds)?.lockDelayNs, 15e9);
    const none = await createId({ LockDelay: '0s' });
    assert.equal(consul.session(none)?.lockDelayNs, 0);
  });

  it('enforces TTL bounds of 10s..24h with Consul error texts; 0s means no TTL', async () => {
    const short = await create({ TTL: '5s' });
    assert.equal(short.status, 500);
    assert.equal(short.text, "Invalid Session TTL '5000000000', must be between [10s=24h0m0s]");
    const long = await create({ TTL: '86401s' });
    assert.equal(long.text, "Invalid Session TTL '86401000000000', must be between [10s=24h0m0s]");
    const bad = await create({ TTL: 'soon' });
    assert.equal(bad.status, 500);
    assert.equal(bad.text, `Session TTL 'soon' invalid: time: invalid duration "soon"`);
    assert.equal((await create({ TTL: '10s' })).status, 200);
    assert.equal((await create({ TTL: '24h' })).status, 200);
    assert.equal((await create({ TTL: '0s' })).status, 200);
  });

  it('sessionTtlMin lowers the minimum, and the error names it', async () => {
    await restart({ sessionTtlMin: '100ms' });
    assert.equal((await create({ TTL: '200ms' })).status, 200);
    const res = await create({ TTL: '50ms' });
    assert.equal(res.text, "Invalid Session TTL '50000000', must be between [100ms=24h0m0s]");
  });

  it('rejects an unknown Behavior, node or check with Consul texts', async () => {
    const behavior = await create({ Behavior: 'explode' });
    assert.equal(behavior.status, 500);
    assert.equal(behavior.text, "Invalid Behavior setting 'explode'");
    const node = await create({ Node: 'elsewhere' });
    assert.equal(node.status, 500);
    assert.equal(node.text, 'apply failed: Missing node registration');
    const check = await create({ NodeChecks: ['disk'] });
    assert.equal(check.text, "apply failed: Missing check 'disk' registration");
    const decode = await create({ LockDelay: 'later' });
    assert.equal(decode.status, 400);
    assert.equal(decode.text, 'Request decode failed: time: invalid duration "later"');
  });

  it('an empty Checks list means no checks at all', async () => {
    const id = await createId({ Checks: [] });
    assert.deepEqual((await info(id)).json<SessionJson[]>()[0]?.NodeChecks, []);
  });

  it('can name another registered node', async () => {
    await restart({ extraNodes: ['worker-2'] });
    const id = await createId({ Node: 'worker-2' });
    const onNode = await call(consul.url, 'GET', '/v1/session/node/worker-2');
    assert.deepEqual(onNode.json<SessionJson[]>().map((s) => s.ID), [id]);
    assert.deepEqual((await call(consul.url, 'GET', '/v1/session/node/consul-double')).json(), []);
  });
});

describe('info, list, destroy, renew', () => {
  it('info of an unknown session is [] with 200; list shows all', async () => {
    const missing = await info('00000000-0000-0000-0000-000000000000');
    assert.equal(missing.status, 200);
    assert.deepEqual(missing.json(), []);
    const a = await createId({ Name: 'a' });
    const b = await createId({ Name: 'b' });
    const list = await call(consul.url, 'GET', '/v1/session/list');
    assert.deepEqual(list.json<SessionJson[]>().map((s) => s.ID).sort(), [a, b].sort());
    assert.equal(list.index, consul.session(b)?.createIndex);
  });

  it('destroy answers true, also for a session that is already gone', async () => {
    const id = await createId();
    const res = await call(consul.url, 'PUT', `/v1/session/destroy/${id}`);
    assert.equal(res.text, 'true');
    assert.deepEqual((await info(id)).json(), []);
    assert.equal((await call(consul.url, 'PUT', `/v1/session/destroy/${id}`)).text, 'true');
    assert.equal((await call(consul.url, 'GET', `/v1/session/destroy/${id}`)).status, 405);
  });

  it('renew returns the session with its TTL, and 404 with text once it is gone', async () => {
    const id = await createId({ TTL: '15s', Name: 'r' });
    const res = await call(consul.url, 'PUT', `/v1/session/renew/${id}`);
    assert.equal(res.status, 200);
    const [renewed] = res.json<SessionJson[]>();
    assert.equal(renewed?.ID, id);
    assert.equal(renewed?.TTL, '15s');
    consul.expireSession(id);
    const gone = await call(consul.url, 'PUT', `/v1/session/renew/${id}`);
    assert.equal(gone.status, 404);
    assert.equal(gone.text, `Session id '${id}' not found`);
  });

  it('info blocks until the session is destroyed', async () => {
    const id = await createId();
    const current = await info(id);
    const pending = track(info(id, `?index=${current.index}`));
    await consul.waitForParked(1);
    await createId({ Name: 'unrelated' });
    await turn();
    assert.equal(pending.settled, false);
    await call(consul.url, 'PUT', `/v1/session/destroy/${id}`);
    const res = await pending.promise;
    assert.deepEqual(res.json(), []);
    assert.ok(res.index! > current.index!);
  });
});

describe('TTL expiry', () => {
  it('invalidates at 2 x TTL after the last renew by default (never before TTL)', async () => {
    const id = await createId({ TTL: '10s' });
    consul.advanceTime(19_999);
    assert.ok(consul.session(id), 'still valid just before 2 x TTL');
    const invalidated = once(consul.events, 'session-invalidated');
    consul.advanceTime(1);
    const [event] = await invalidated;
    assert.deepEqual(event, { id, reason: 'ttl', keys: [] });
    assert.deepEqual((await info(id)).json(), []);
  });

  it('sessionTtlMultiplier 1 invalidates exactly at TTL', async () => {
    await restart({ sessionTtlMultiplier: 1 });
    const id = await createId({ TTL: '10s' });
    consul.advanceTime(9_999);
    assert.ok(consul.session(id));
    consul.advanceTime(1);
    assert.equal(consul.session(id), undefined);
  });

  it('renew pushes expiry out by TTL x multiplier from the renew', async () => {
    const id = await createId({ TTL: '10s' });
    consul.advanceTime(15_000);
    assert.equal((await call(consul.url, 'PUT', `/v1/session/renew/${id}`)).status, 200);
    consul.advanceTime(19_999);
    assert.ok(consul.session(id));
    consul.advanceTime(1);
    assert.equal(consul.session(id), undefined);
  });

  it('expires on a real clock with a short TTL', async () => {
    await restart({ sessionTtlMin: '50ms', sessionTtlMultiplier: 1, clock: systemClock() });
    const id = await createId({ TTL: '50ms' });
    const [event] = await once(consul.events, 'session-invalidated');
    assert.equal(event.id, id);
    assert.equal(event.reason, 'ttl');
  });

  it('sessions without TTL never expire; a critical check invalidates them', async () => {
    const id = await createId();
    consul.advanceTime(48 * 3600_000);
    assert.ok(consul.session(id));
    consul.setCheck('serfHealth', 'critical');
    assert.equal(consul.session(id), undefined);
    const refused = await create();
    assert.equal(refused.text, "apply failed: Check 'serfHealth' is in critical state");
  });

  it('TTL timers stop without a leader and restart in full when one is back', async () => {
    const id = await createId({ TTL: '10s' });
    consul.advanceTime(15_000);
    consul.setLeader(false);
    consul.advanceTime(60_000);
    assert.ok(consul.session(id), 'no leader, no expiry');
    consul.setLeader(true);
    consul.advanceTime(19_999);
    assert.ok(consul.session(id), 'the new leader gives the full 2 x TTL again');
    consul.advanceTime(1);
    assert.equal(consul.session(id), undefined);
  });
});
