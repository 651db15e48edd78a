// The double's service discovery endpoints (issue 16), from Consul's API pages: agent service
// register/deregister, TTL checks (pass, warn, fail, update, expiry), DeregisterCriticalServiceAfter,
// maintenance, and the health and catalog reads with blocking queries and X-Consul-Index.
// Time is driven with advanceTime() on a frozen clock.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { frozenClock, startConsulDouble, type ConsulDouble } from '../support/consul/double.ts';
import { call, track } from './http-client.ts';

let consul: ConsulDouble;
beforeEach(async () => {
  consul = await startConsulDouble({ blockingJitter: false, clock: frozenClock() });
});
afterEach(async () => {
  await consul.stop();
});

interface HealthEntry {
  Node: { Node: string; Address: string };
  Service: { ID: string; Service: string; Tags: string[]; Address: string; Port: number; Meta: Record<string, string> };
  Checks: { CheckID: string; Status: string; Output: string; Notes: string; ServiceID: string }[];
}

const put = (path: string, body?: unknown) => call(consul.url, 'PUT', path, body === undefined ? {} : { body: JSON.stringify(body) });
const get = (path: string) => call(consul.url, 'GET', path);
const health = async (path: string) => (await get(`/v1/health/service/${path}`)).json<HealthEntry[]>();

function web(id: string, port: number, check: Record<string, unknown> = {}) {
  return {
    ID: id, Name: 'web', Tags: ['b', 'a'], Address: '10.0.0.1', Port: port, Meta: { zone: 'z1' },
    Check: { TTL: '10s', DeregisterCriticalServiceAfter: '1m', ...check },
  };
}

describe('agent service registration', () => {
  it('registers a service with a TTL check that starts critical, and lists it', async () => {
    assert.equal((await put('/v1/agent/service/register', web('web-1', 8080))).status, 200);
    const services = (await get('/v1/agent/services')).json<Record<string, { Service: string; Port: number; Tags: string[] }>>();
    assert.equal(services['web-1']?.Service, 'web');
    assert.equal(services['web-1']?.Port, 8080);
    const checks = (await get('/v1/agent/checks')).json<Record<string, { Status: string; ServiceID: string }>>();
    assert.equal(checks['service:web-1']?.Status, 'critical');
    assert.equal(checks['service:web-1']?.ServiceID, 'web-1');
  });

  it('takes the initial status from the check definition', async () => {
    await put('/v1/agent/service/register', web('web-1', 8080, { Status: 'passing' }));
    assert.equal(consul.catalog.check('service:web-1')?.Status, 'passing');
  });

  it('refuses a registration without a name', async () => {
    const res = await put('/v1/agent/service/register', { ID: 'x' });
    assert.equal(res.status, 400);
    assert.match(res.text, /Missing service name/);
  });

  it('deregisters, and answers 404 for an unknown id', async () => {
    await put('/v1/agent/service/register', web('web-1', 8080));
    assert.equal((await put('/v1/agent/service/deregister/web-1')).status, 200);
    assert.deepEqual((await get('/v1/agent/services')).json(), {});
    assert.deepEqual((await get('/v1/agent/checks')).json(), {});
    const again = await put('/v1/agent/service/deregister/web-1');
    assert.equal(again.status, 404);
    assert.match(again.text, /Unknown service ID "web-1"/);
  });
});

describe('TTL checks', () => {
  it('pass, warn and fail set the status and the note as output; update takes a JSON body', async () => {
    await put('/v1/agent/service/register', web('web-1', 8080));
    await put('/v1/agent/check/pass/service:web-1?note=all%20good');
    assert.deepEqual([consul.catalog.check('service:web-1')?.Status, consul.catalog.check('service:web-1')?.Output], ['passing', 'all good']);
    await put('/v1/agent/check/warn/service:web-1');
    assert.equal(consul.catalog.check('service:web-1')?.Status, 'warning');
    await put('/v1/agent/check/fail/service:web-1?note=down');
    assert.equal(consul.catalog.check('service:web-1')?.Status, 'critical');
    await put('/v1/agent/check/update/service:web-1', { Status: 'passing', Output: 'up' });
    assert.deepEqual([consul.catalog.check('service:web-1')?.Status, consul.catalog.check('service:web-1')?.Output], ['passing', 'up']);
    const unknown = await put('/v1/agent/check/pass/service:nope');
    assert.equal(unknown.status, 404);
    assert.match(unknown.text, /Unknown check ID "service:nope"/);
  });

  it('goes critical when not updated within its TTL, and not a millisecond before', async () => {
    await put('/v1/agent/service/register', web('web-1', 8080));
    await put('/v1/agent/check/pass/service:web-1');
    consul.advanceTime(9_999);
    assert.equal(consul.catalog.check('service:web-1')?.Status, 'passing');
    await put('/v1/agent/check/pass/service:web-1');
    consul.advanceTime(9_999);
    assert.equal(consul.catalog.check('service:web-1')?.Status, 'passing', 'an update restarts the TTL');
    consul.advanceTime(1);
    assert.equal(consul.catalog.check('service:web-1')?.Status, 'critical');
    assert.equal(consul.catalog.check('service:web-1')?.Output, 'TTL expired');
  });

  it('DeregisterCriticalServiceAfter removes a service whose check stays critical that long', async () => {
    await put('/v1/agent/service/register', web('web-1', 8080));
    await put('/v1/agent/check/pass/service:web-1');
    consul.advanceTime(10_000);
    assert.equal(consul.catalog.check('service:web-1')?.Status, 'critical');
    consul.advanceTime(59_999);
    assert.notEqual(consul.catalog.service('web-1'), undefined);
    consul.advanceTime(1);
    assert.equal(consul.catalog.service('web-1'), undefined);
  });

  it('a check that passes again in time is not removed', async () => {
    await put('/v1/agent/service/register', web('web-1', 8080));
    consul.advanceTime(30_000);
    await put('/v1/agent/check/pass/service:web-1');
    consul.advanceTime(40_000 - 1);
    assert.notEqual(consul.catalog.service('web-1'), undefined);
  });
});

describe('maintenance', () => {
  it('adds a critical _service_maintenance check with the reason, and removes it', async () => {
    await put('/v1/agent/service/register', web('web-1', 8080, { Status: 'passing' }));
    assert.equal((await put('/v1/agent/service/maintenance/web-1?enable=true&reason=upgrade')).status, 200);
    const maint = consul.catalog.check('_service_maintenance:web-1');
    assert.deepEqual([maint?.Status, maint?.Notes], ['critical', 'upgrade']);
    assert.deepEqual(await health('web?passing'), []);
    await put('/v1/agent/service/maintenance/web-1?enable=false');
    assert.equal(consul.catalog.check('_service_maintenance:web-1'), undefined);
    assert.equal((await health('web?passing')).length, 1);
  });

  it('needs enable, and a known service', async () => {
    assert.equal((await put('/v1/agent/service/maintenance/web-1')).status, 400);
    assert.equal((await put('/v1/agent/service/maintenance/web-1?enable=true')).status, 404);
  });
});

describe('health and catalog reads', () => {
  it('/v1/health/service gives node, service and checks; ?passing and ?tag filter', async () => {
    await put('/v1/agent/service/register', web('web-1', 8080, { Status: 'passing' }));
    await put('/v1/agent/service/register', { ...web('web-2', 8081), Tags: ['c'] });
    const all = await health('web');
    assert.deepEqual(all.map((e) => e.Service.ID), ['web-1', 'web-2']);
    const first = all[0] as HealthEntry;
    assert.equal(first.Node.Node, 'consul-double');
    assert.deepEqual(first.Service.Meta, { zone: 'z1' });
    assert.deepEqual(first.Checks.map((c) => [c.CheckID, c.Status]), [['serfHealth', 'passing'], ['service:web-1', 'passing']]);
    assert.deepEqual((await health('web?passing')).map((e) => e.Service.ID), ['web-1']);
    assert.deepEqual((await health('web?tag=c')).map((e) => e.Service.ID), ['web-2']);
    assert.deepEqual(await health('other'), []);
  });

  it('/v1/catalog/services lists names with their tags', async () => {
    await put('/v1/agent/service/register', web('web-1', 8080));
    await put('/v1/agent/service/register', { ...web('web-2', 8081), Tags: ['c'] });
    await put('/v1/agent/service/register', { Name: 'db', Port: 5432, Check: { TTL: '5s' } });
    assert.deepEqual((await get('/v1/catalog/services')).json(), { web: ['b', 'a', 'c'], db: [] });
  });

  it('a blocking health query wakes on a check change of that service only, with a higher X-Consul-Index', async () => {
    await put('/v1/agent/service/register', web('web-1', 8080));
    await put('/v1/agent/service/register', { Name: 'db', Check: { TTL: '5s' } });
    const first = await get('/v1/health/service/web');
    assert.ok(first.index !== undefined && first.index > 0);
    const pending = track(get(`/v1/health/service/web?index=${first.index}&wait=5m`));
    await consul.waitForParked(1);
    await put('/v1/agent/check/pass/service:db');
    assert.equal(pending.settled, false, 'another service does not wake it');
    await put('/v1/agent/check/pass/service:web-1?note=ok');
    const res = await pending.promise;
    assert.ok((res.index ?? 0) > first.index);
    assert.equal(res.json<HealthEntry[]>()[0]?.Checks[1]?.Status, 'passing');
  });

  it('a blocking health query answers at the end of its wait with the same index', async () => {
    await put('/v1/agent/service/register', web('web-1', 8080));
    const first = await get('/v1/health/service/web');
    const pending = track(get(`/v1/health/service/web?index=${first.index}&wait=5s`));
    await consul.waitForParked(1);
    consul.advanceTime(5_000); // before the TTL (10 s) runs out
    const res = await pending.promise;
    assert.equal(res.index, first.index);
  });

  it('TTL expiry wakes a blocking health query', async () => {
    await put('/v1/agent/service/register', web('web-1', 8080, { Status: 'passing' }));
    const first = await get('/v1/health/service/web?passing');
    const pending = track(get(`/v1/health/service/web?passing&index=${first.index}`));
    await consul.waitForParked(1);
    consul.advanceTime(10_000);
    assert.deepEqual((await pending.promise).json(), []);
  });

  it('a blocking catalog query wakes on a registration, not on a check update', async () => {
    await put('/v1/agent/service/register', web('web-1', 8080));
    const first = await get('/v1/catalog/services');
    const pending = track(get(`/v1/catalog/services?index=${first.index}`));
    await consul.waitForParked(1);
    await put('/v1/agent/check/pass/service:web-1');
    await consul.waitForParked(1);
    assert.equal(pending.settled, false);
    await put('/v1/agent/service/register', { Name: 'db', Check: { TTL: '5s' } });
    const res = await pending.promise;
    assert.ok((res.index ?? 0) > (first.index ?? 0));
    assert.deepEqual(Object.keys(res.json<Record<string, unknown>>()).sort(), ['db', 'web']);
  });
});
