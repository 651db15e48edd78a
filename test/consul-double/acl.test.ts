// ACL token handling with default deny, checked against agent/http.go (token parsing,
// 403 mapping), acl/errors.go (texts) and the endpoints' filter-vs-refuse choices.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startConsulDouble, type ConsulDouble } from '../support/consul/double.ts';
import { call, type KvJson } from './http-client.ts';

const TOKEN = 'a1b2c3d4-0000-4000-8000-000000000001';
const anonymousDenied = (permission: string, name: string): string =>
  `Permission denied: anonymous token lacks permission '${permission}' on "${name}". ` +
  'The anonymous token is used implicitly when a request does not specify a token.';

let consul: ConsulDouble;
before(async () => {
  consul = await startConsulDouble({ aclToken: TOKEN });
  consul.put('app/config', 'secret');
});
after(async () => {
  await consul.stop();
});

describe('token sources', () => {
  it('accepts the token as X-Consul-Token, ?token= or Authorization: Bearer', async () => {
    for (const [path, headers] of [
      ['/v1/kv/app/config', { 'X-Consul-Token': TOKEN }],
      [`/v1/kv/app/config?token=${TOKEN}`, {}],
      ['/v1/kv/app/config', { Authorization: `Bearer ${TOKEN}` }],
    ] as const) {
      const res = await call(consul.url, 'GET', path, { headers });
      assert.equal(res.status, 200, JSON.stringify(headers));
      assert.equal(res.json<KvJson[]>()[0]?.Key, 'app/config');
    }
  });

  it('announces default deny', async () => {
    const res = await call(consul.url, 'GET', '/v1/status/leader');
    assert.equal(res.headers['x-consul-default-acl-policy'], 'deny');
  });
});

describe('without a valid token', () => {
  it('an unknown token is 403 "ACL not found"', async () => {
    const res = await call(consul.url, 'GET', '/v1/kv/app/config', { headers: { 'X-Consul-Token': 'wrong' } });
    assert.equal(res.status, 403);
    assert.equal(res.text, 'ACL not found');
    const write = await call(consul.url, 'PUT', '/v1/kv/app/config?token=wrong', { body: 'x' });
    assert.equal(write.status, 403);
    assert.equal(write.text, 'ACL not found');
  });

  it('reading or writing a key anonymously is 403 with the permission named', async () => {
    const read = await call(consul.url, 'GET', '/v1/kv/app/config');
    assert.equal(read.status, 403);
    assert.equal(read.text, anonymousDenied('key:read', 'app/config'));
    assert.equal(read.headers['x-consul-index'], undefined);
    const write = await call(consul.url, 'PUT', '/v1/kv/app/config', { body: 'x' });
    assert.equal(write.status, 403);
    assert.equal(write.text, anonymousDenied('key:write', 'app/config'));
    const remove = await call(consul.url, 'DELETE', '/v1/kv/app/?recurse');
    assert.equal(remove.text, anonymousDenied('key:write', 'app/'));
    assert.equal(consul.get('app/config')?.value.toString(), 'secret');
  });

  it('recursive reads are filtered, not refused: the anonymous token sees 404', async () => {
    const list = await call(consul.url, 'GET', '/v1/kv/app/?recurse');
    assert.equal(list.status, 404);
    const keys = await call(consul.url, 'GET', '/v1/kv/?keys');
    assert.equal(keys.status, 200);
    assert.deepEqual(keys.json(), []);
  });

  it('sessions: create is refused, list is filtered', async () => {
    const create = await call(consul.url, 'PUT', '/v1/session/create');
    assert.equal(create.status, 403);
    assert.equal(create.text, anonymousDenied('session:write', 'consul-double'));
    const made = await call(consul.url, 'PUT', '/v1/session/create', { headers: { 'X-Consul-Token': TOKEN } });
    assert.equal(made.status, 200);
    const list = await call(consul.url, 'GET', '/v1/session/list');
    assert.equal(list.status, 200);
    assert.deepEqual(list.json(), []);
    const listed = await call(consul.url, 'GET', '/v1/session/list', { headers: { 'X-Consul-Token': TOKEN } });
    assert.equal(listed.json<unknown[]>().length, 1);
  });

  it('status needs no token; agent/self needs agent:read', async () => {
    const leader = await call(consul.url, 'GET', '/v1/status/leader');
    assert.equal(leader.status, 200);
    assert.equal(leader.json(), '127.0.0.1:8300');
    const self = await call(consul.url, 'GET', '/v1/agent/self');
    assert.equal(self.status, 403);
    assert.equal(self.text, anonymousDenied('agent:read', 'consul-double'));
    const allowed = await call(consul.url, 'GET', '/v1/agent/self', { headers: { 'X-Consul-Token': TOKEN } });
    assert.equal(allowed.json<{ Config: { NodeName: string } }>().Config.NodeName, 'consul-double');
  });
});
