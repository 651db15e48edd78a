// The npm `consul` client (v2) against the double: reads, writes, a lock, and a watch that
// must block on X-Consul-Index rather than poll.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import Consul from 'consul';
import { startConsulDouble, type ConsulDouble } from '../support/consul/double.ts';

let double: ConsulDouble;
let client: Consul;
before(async () => {
  double = await startConsulDouble({ blockingJitter: false });
  client = new Consul({ host: '127.0.0.1', port: double.port });
});
after(async () => {
  (client as unknown as { destroy(): void }).destroy();
  await double.stop();
});

describe('npm consul v2 client', () => {
  it('sets, gets, lists keys and deletes', async () => {
    assert.equal(await client.kv.set('app/a', 'one'), true);
    assert.equal(await client.kv.set({ key: 'app/b', value: 'two', flags: 5 }), true);
    const got = await client.kv.get('app/a');
    assert.equal(got?.Value, 'one');
    assert.equal(got?.Key, 'app/a');
    assert.deepEqual(await client.kv.keys('app/'), ['app/a', 'app/b']);
    const all = await client.kv.get({ key: 'app/', recurse: true });
    assert.ok(Array.isArray(all));
    assert.deepEqual(all.map((e) => [e.Key, e.Value, e.Flags]), [
      ['app/a', 'one', 0],
      ['app/b', 'two', 5],
    ]);
    assert.equal(await client.kv.del('app/a'), true);
    assert.equal(await client.kv.get('app/a'), undefined);
  });

  it('takes a lock with a session and sees it released on destroy', async () => {
    const { ID } = await client.session.create({ name: 'steward', ttl: '15s', lockdelay: '1ms' });
    assert.equal(await client.kv.set({ key: 'leader', value: 'me', acquire: ID }), true);
    assert.equal((await client.kv.get('leader') as { Session?: string } | null)?.Session, ID);
    const [renewed] = await client.session.renew(ID);
    assert.equal(renewed?.TTL, '15s');
    await client.session.destroy(ID);
    assert.equal((await client.kv.get('leader') as { Session?: string } | null)?.Session, undefined);
  });

  it('watches a key with blocking queries and reports each change', async () => {
    double.put('watched', 'v1');
    const watch = client.watch({ method: client.kv.get, options: { key: 'watched', wait: '1m' } });
    try {
      const [first] = (await once(watch, 'change')) as [{ Value: string }];
      assert.equal(first.Value, 'v1');
      await double.waitForParked(1);
      const secondChange = once(watch, 'change');
      double.put('watched', 'v2');
      const [second] = (await secondChange) as [{ Value: string }];
      assert.equal(second.Value, 'v2');
      await double.waitForParked(1);
      const reads = double.requests((r) => r.path === '/v1/kv/watched');
      assert.equal(reads[0]?.query['index'], '0');
      assert.ok(reads.slice(1).every((r) => Number(r.query['index']) > 0 && r.query['wait'] === '1m'));
      assert.equal(reads.length, 3, 'one initial read, one answered block, one parked block');
    } finally {
      watch.end();
    }
  });
});
