// KV endpoint behaviour, checked against developer.hashicorp.com/consul/api-docs/kv and the
// handlers in agent/kvs_endpoint.go / agent/consul/state/kvs.go.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startConsulDouble, type ConsulDouble } from '../support/consul/double.ts';
import { call, type KvJson } from './http-client.ts';

let consul: ConsulDouble;
before(async () => {
  consul = await startConsulDouble();
});
after(async () => {
  await consul.stop();
});
beforeEach(() => {
  consul.delete('', { recurse: true });
});

const get = (path: string, headers?: Record<string, string>) => call(consul.url, 'GET', path, { headers });
const put = (path: string, body?: string) => call(consul.url, 'PUT', path, body === undefined ? {} : { body });
const del = (path: string) => call(consul.url, 'DELETE', path);

describe('read key', () => {
  it('returns a JSON array with base64 value, flags and indexes', async () => {
    assert.equal((await put('/v1/kv/app/config?flags=42', 'hello')).text, 'true');
    const res = await get('/v1/kv/app/config');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/json');
    const [entry] = res.json<KvJson[]>();
    assert.ok(entry);
    assert.deepEqual(Object.keys(entry), ['LockIndex', 'Key', 'Flags', 'Value', 'CreateIndex', 'ModifyIndex']);
    assert.equal(entry.Key, 'app/config');
    assert.equal(entry.Flags, 42);
    assert.equal(Buffer.from(entry.Value ?? '', 'base64').toString(), 'hello');
    assert.equal(entry.LockIndex, 0);
    assert.equal(entry.CreateIndex, entry.ModifyIndex);
    assert.equal(res.index, entry.ModifyIndex, 'X-Consul-Index is the key ModifyIndex');
    assert.equal(res.headers['x-consul-knownleader'], 'true');
    assert.equal(res.headers['x-consul-lastcontact'], '0');
  });

  it('answers 404 with an empty body and still sends X-Consul-Index', async () => {
    consul.put('other', 'x');
    const res = await get('/v1/kv/missing');
    assert.equal(res.status, 404);
    assert.equal(res.body.length, 0);
    assert.equal(res.index, consul.get('other')?.modifyIndex, 'the KV table index');
  });

  it('never reports index 0, even on an empty store', async () => {
    const fresh = await startConsulDouble();
    try {
      for (const path of ['/v1/kv/nothing', '/v1/kv/?recurse', '/v1/kv/?keys', '/v1/kv/none/?keys', '/v1/session/list']) {
        const res = await call(fresh.url, 'GET', path);
        assert.equal(res.index, 1, path);
      }
    } finally {
      await fresh.stop();
    }
  });

  it('?raw returns the bare value as text/plain with the sandbox headers', async () => {
    await put('/v1/kv/raw', '{"a":1}');
    const res = await get('/v1/kv/raw?raw');
    assert.equal(res.status, 200);
    assert.equal(res.text, '{"a":1}');
    assert.equal(res.headers['content-type'], 'text/plain');
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.headers['content-security-policy'], 'sandbox');
  });

  it('an empty value reads back as null', async () => {
    await put('/v1/kv/empty', '');
    assert.equal((await get('/v1/kv/empty')).json<KvJson[]>()[0]?.Value, null);
    assert.equal((await get('/v1/kv/empty?raw')).body.length, 0);
  });

  it('a key is required without ?recurse', async () => {
    const res = await get('/v1/kv/');
    assert.equal(res.status, 400);
    assert.equal(res.text, 'Missing key name');
  });

  it('?pretty indents like Go with a trailing newline', async () => {
    await put('/v1/kv/p', 'v');
    const res = await get('/v1/kv/p?pretty');
    assert.match(res.text, /^\[\n {4}\{\n {8}"LockIndex": 0,/);
    assert.ok(res.text.endsWith('\n'));
  });
});

describe('recurse, keys and separator', () => {
  beforeEach(async () => {
    for (const key of ['web/bar', 'web/foo', 'web/subdir/a', 'web/subdir/b', 'webfoo', 'other/x']) {
      await put(`/v1/kv/${key}`, key);
    }
  });

  it('?recurse lists every key under the prefix in key order, index = max ModifyIndex', async () => {
    const res = await get('/v1/kv/web/?recurse');
    const entries = res.json<KvJson[]>();
    assert.deepEqual(entries.map((e) => e.Key), ['web/bar', 'web/foo', 'web/subdir/a', 'web/subdir/b']);
    assert.equal(res.index, Math.max(...entries.map((e) => e.ModifyIndex)));
    assert.ok(res.index! < consul.index(), 'later writes outside the prefix do not count');
  });

  it('?recurse on an empty prefix lists everything; on an unknown prefix answers 404', async () => {
    assert.equal((await get('/v1/kv/?recurse')).json<KvJson[]>().length, 6);
    const missing = await get('/v1/kv/nope/?recurse');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.length, 0);
  });

  it('?keys lists key names; with ?separator it stops at the separator', async () => {
    assert.deepEqual((await get('/v1/kv/web/?keys')).json(), ['web/bar', 'web/foo', 'web/subdir/a', 'web/subdir/b']);
    assert.deepEqual((await get('/v1/kv/web/?keys&separator=/')).json(), ['web/bar', 'web/foo', 'web/subdir/']);
    assert.deepEqual((await get('/v1/kv/?keys&separator=/')).json(), ['other/', 'web/', 'webfoo']);
    // The historical misspelling is still honoured.
    assert.deepEqual((await get('/v1/kv/web/?keys&seperator=/')).json(), ['web/bar', 'web/foo', 'web/subdir/']);
  });

  it('?keys on a missing prefix is 404, but the root of an empty store is []', async () => {
    assert.equal((await get('/v1/kv/nope/?keys')).status, 404);
    consul.delete('', { recurse: true });
    const root = await get('/v1/kv/?keys');
    assert.equal(root.status, 200);
    assert.deepEqual(root.json(), []);
  });

  it('after deleting the newest key under a prefix the index does not go back (tombstone)', async () => {
    const before = (await get('/v1/kv/web/?recurse')).index!;
    await put('/v1/kv/web/zzz', 'newest');
    const withNewest = (await get('/v1/kv/web/?recurse')).index!;
    assert.ok(withNewest > before);
    await del('/v1/kv/web/zzz');
    const afterDelete = (await get('/v1/kv/web/?recurse')).index!;
    assert.ok(afterDelete > withNewest, 'the delete itself is the newest change under the prefix');
    // Once the tombstones are reaped the list index can go backwards, as the docs warn.
    consul.reapTombstones();
    assert.equal((await get('/v1/kv/web/?recurse')).index, before);
  });
});

describe('create/update key', () => {
  it('PUT without ?flags resets flags to 0', async () => {
    await put('/v1/kv/f?flags=7', 'a');
    await put('/v1/kv/f', 'b');
    assert.equal(consul.get('f')?.flags, 0n);
  });

  it('flags are unsigned 64-bit', async () => {
    await put('/v1/kv/big?flags=18446744073709551615', 'x');
    assert.match((await get('/v1/kv/big')).text, /"Flags":18446744073709551615,/);
    const bad = await put('/v1/kv/big?flags=-1', 'x');
    assert.equal(bad.status, 500);
    assert.equal(bad.text, 'strconv.ParseUint: parsing "-1": invalid syntax');
  });

  it('updating keeps CreateIndex and moves ModifyIndex to the write index', async () => {
    await put('/v1/kv/u', '1');
    const first = consul.get('u')!;
    await put('/v1/kv/u', '2');
    const second = consul.get('u')!;
    assert.equal(second.createIndex, first.createIndex);
    assert.ok(second.modifyIndex > first.modifyIndex);
    assert.equal(second.modifyIndex, consul.index());
  });

  it('an identical write changes nothing', async () => {
    await put('/v1/kv/same?flags=3', 'v');
    const before = consul.get('same')!.modifyIndex;
    assert.equal((await put('/v1/kv/same?flags=3', 'v')).text, 'true');
    assert.equal(consul.get('same')!.modifyIndex, before);
  });

  it('?cas=0 creates only; ?cas=N updates only at that ModifyIndex', async () => {
    assert.equal((await put('/v1/kv/c?cas=0', 'first')).text, 'true');
    assert.equal((await put('/v1/kv/c?cas=0', 'second')).text, 'false');
    const index = consul.get('c')!.modifyIndex;
    assert.equal((await put(`/v1/kv/c?cas=${index + 1}`, 'stale')).text, 'false');
    assert.equal((await put(`/v1/kv/c?cas=${index}`, 'third')).text, 'true');
    assert.equal(consul.get('c')?.value.toString(), 'third');
    assert.equal((await put('/v1/kv/nonexistent?cas=5', 'x')).text, 'false');
  });

  it('rejects conflicting ?cas/?acquire/?release with 400', async () => {
    const res = await put('/v1/kv/x?cas=1&acquire=abc', 'v');
    assert.equal(res.status, 400);
    assert.equal(res.text, 'Conflicting flags: acquire=abc&cas=1\n');
  });

  it('requires a key name', async () => {
    const res = await put('/v1/kv/', 'v');
    assert.equal(res.status, 400);
    assert.equal(res.text, 'Missing key name');
  });

  it('refuses bodies over kv_max_value_size with 413', async () => {
    const small = await startConsulDouble({ kvMaxValueSize: 4 });
    try {
      const res = await call(small.url, 'PUT', '/v1/kv/k', { body: '12345' });
      assert.equal(res.status, 413);
      assert.match(res.text, /^Request body\(5 bytes\) too large, max size: 4 bytes\./);
      assert.equal((await call(small.url, 'PUT', '/v1/kv/k', { body: '1234' })).text, 'true');
    } finally {
      await small.stop();
    }
  });
});

describe('delete key', () => {
  it('deletes one key, or a prefix with ?recurse; always answers true', async () => {
    for (const key of ['d/a', 'd/b', 'd/c/d', 'e']) consul.put(key, 'x');
    assert.equal((await del('/v1/kv/d/a')).text, 'true');
    assert.equal(consul.get('d/a'), undefined);
    assert.equal((await del('/v1/kv/d/a')).text, 'true', 'deleting a missing key is not an error');
    assert.equal((await del('/v1/kv/d/?recurse')).text, 'true');
    assert.deepEqual(consul.list().map((e) => e.key), ['e']);
  });

  it('?cas deletes only at the ModifyIndex; 0 never deletes; a missing key is true', async () => {
    const entry = consul.put('k', 'v');
    assert.equal((await del('/v1/kv/k?cas=0')).text, 'false');
    assert.equal((await del(`/v1/kv/k?cas=${entry.modifyIndex + 1}`)).text, 'false');
    assert.equal((await del(`/v1/kv/k?cas=${entry.modifyIndex}`)).text, 'true');
    assert.equal(consul.get('k'), undefined);
    assert.equal((await del('/v1/kv/k?cas=3')).text, 'true');
  });

  it('rejects ?recurse with ?cas and a missing key name', async () => {
    assert.equal((await del('/v1/kv/k?recurse&cas=1')).status, 400);
    const res = await del('/v1/kv/');
    assert.equal(res.status, 400);
    assert.equal(res.text, 'Missing key name');
  });
});

describe('HTTP surface', () => {
  it('answers 405 with an Allow header for other methods, and OPTIONS with the list', async () => {
    const res = await call(consul.url, 'POST', '/v1/kv/k');
    assert.equal(res.status, 405);
    assert.equal(res.text, 'method POST not allowed');
    assert.equal(res.headers.allow, 'OPTIONS,GET,PUT,DELETE');
    const options = await call(consul.url, 'OPTIONS', '/v1/kv/k');
    assert.equal(options.status, 200);
    assert.equal(options.headers.allow, 'OPTIONS,GET,PUT,DELETE');
  });

  it('answers unknown endpoints with 404 and Consul text, and redirects /v1/kv to /v1/kv/', async () => {
    const unknown = await get('/v1/nope');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.text, 'Invalid URL path: not a recognized HTTP API endpoint\n');
    const outside = await get('/nope');
    assert.equal(outside.text, "Invalid URL path: if attempting to use the HTTP API, ensure the path starts with '/v1/'\n");
    const redirect = await get('/v1/kv?recurse');
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.location, '/v1/kv/?recurse');
  });

  it('decodes escaped key paths and redirects unclean ones, as Go does', async () => {
    await put('/v1/kv/a%2Fb%20c', 'v');
    assert.equal(consul.get('a/b c')?.value.toString(), 'v');
    const unclean = await get('/v1/kv/a//b?raw');
    assert.equal(unclean.status, 301);
    assert.equal(unclean.headers.location, '/v1/kv/a/b?raw');
  });

  it('accepts ?dc for its own datacenter, ?stale and ?consistent; refuses both together', async () => {
    consul.put('k', 'v');
    assert.equal((await get('/v1/kv/k?dc=dc1')).status, 200);
    assert.equal((await get('/v1/kv/k?stale')).headers['x-consul-effective-consistency'], 'stale');
    assert.equal((await get('/v1/kv/k?consistent')).headers['x-consul-effective-consistency'], 'consistent');
    assert.equal((await get('/v1/kv/k')).headers['x-consul-effective-consistency'], 'leader');
    const both = await get('/v1/kv/k?stale&consistent');
    assert.equal(both.status, 400);
    assert.equal(both.text, 'Cannot specify ?stale with ?consistent, conflicting semantics.');
    const otherDc = await get('/v1/kv/k?dc=dc2');
    assert.equal(otherDc.status, 500);
    assert.equal(otherDc.text, 'No path to datacenter');
  });

  it('rejects a malformed ?wait or ?index with 400', async () => {
    const wait = await get('/v1/kv/k?index=1&wait=10');
    assert.equal(wait.status, 400);
    assert.equal(wait.text, 'Invalid wait time');
    const index = await get('/v1/kv/k?index=abc');
    assert.equal(index.status, 400);
    assert.equal(index.text, 'Invalid index');
  });

  it('gzips large answers when the client accepts gzip', async () => {
    consul.put('big', 'x'.repeat(4000));
    const plain = await get('/v1/kv/big?raw');
    assert.equal(plain.headers['content-encoding'], undefined);
    const zipped = await get('/v1/kv/big?raw', { 'Accept-Encoding': 'gzip' });
    assert.equal(zipped.headers['content-encoding'], 'gzip');
    assert.ok(zipped.body.length < 4000);
  });
});
