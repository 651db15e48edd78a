// The etcd backend's key rule and CONFD_NODE parsing, without a server.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEtcdBackend } from '../../src/backends/etcd.ts';
import { parseEndpoints } from '../../src/stores/etcd/endpoints.ts';
import { prefixRange, watchedKeys } from '../../src/stores/etcd/keys.ts';
import { etcdBackendOptions } from '../support/etcd.ts';

describe('etcd covers(): confd etcdv3 GetValues filter', () => {
  const { covers } = createEtcdBackend(etcdBackendOptions([]));

  it('covers the key itself and keys below it, not siblings sharing its prefix', () => {
    assert.equal(covers('/app/db', '/app/db'), true);
    assert.equal(covers('/app/db', '/app/db/host'), true);
    assert.equal(covers('/app/db', '/app/db/a/b/c'), true);
    assert.equal(covers('/app/db', '/app/dbx'), false);
    assert.equal(covers('/app/db', '/app/dbx/host'), false);
    assert.equal(covers('/app/db', '/app/d'), false);
    assert.equal(covers('/app/db', '/app'), false);
  });

  it('does not add a second slash to a key that ends with one', () => {
    assert.equal(covers('/app/', '/app/x'), true);
    assert.equal(covers('/app/', '/app'), false);
    assert.equal(covers('/', '/anything/at/all'), true);
  });
});

describe('etcd key ranges', () => {
  it('ranges over the byte prefix, up to the next prefix', () => {
    const r = prefixRange('/app/db');
    assert.equal(r.key.toString(), '/app/db');
    assert.equal(r.range_end.toString(), '/app/dc');
  });

  it('uses the whole keyspace for the empty key (etcd refuses an empty key)', () => {
    assert.deepEqual(prefixRange(''), { key: Buffer.from([0]), range_end: Buffer.from([0]) });
  });

  it('watches each key once, and not the keys another watched key covers', () => {
    assert.deepEqual(watchedKeys(['/b', '/a/x', '/a', '/a/x', '/ab', '/a/']), ['/a', '/ab', '/b']);
  });
});

describe('CONFD_NODE and CONFD_SCHEME', () => {
  it('defaults to 127.0.0.1:2379 over http', () => {
    assert.deepEqual(parseEndpoints([], 'http', false), { hosts: ['http://127.0.0.1:2379'], secure: false });
  });

  it('keeps given schemes, applies CONFD_SCHEME to the others, defaults the port to 2379', () => {
    assert.deepEqual(parseEndpoints(['a:1', 'http://b:2', ' c '], 'http', false).hosts, ['http://a:1', 'http://b:2', 'http://c:2379']);
    assert.deepEqual(parseEndpoints(['a:1', 'https://b:443'], 'https', false), { hosts: ['https://a:1', 'https://b:443'], secure: true });
    assert.deepEqual(parseEndpoints(['[::1]:2379'], 'http', false).hosts, ['http://[::1]:2379']);
  });

  it('speaks https to addresses without a scheme when TLS files are given, as confd does', () => {
    assert.deepEqual(parseEndpoints(['etcd:2379'], 'http', true), { hosts: ['https://etcd:2379'], secure: true });
  });

  it('rejects what etcd cannot use, naming the variable', () => {
    assert.throws(() => parseEndpoints(['http://a:1', 'https://b:2'], 'http', false), /^ConfigError: CONFD_NODE: .*mixes http and https/);
    assert.throws(() => parseEndpoints(['unix:///run/etcd.sock'], 'http', false), /CONFD_NODE: "unix:\/\/\/run\/etcd.sock" has the scheme unix/);
    assert.throws(() => parseEndpoints(['http://u:secret@a:1'], 'http', false), (e: Error) => /CONFD_NODE.*CONFD_USERNAME/.test(e.message) && !e.message.includes('secret'));
    assert.throws(() => parseEndpoints(['a:1'], 'ftp', false), /CONFD_SCHEME: "ftp" .* http or https/);
    assert.throws(() => parseEndpoints(['http://a:1/v3'], 'http', false), /CONFD_NODE: "http:\/\/a:1\/v3" has a path/);
  });

  it('names the variable when a TLS file cannot be read', () => {
    assert.throws(
      () => createEtcdBackend(etcdBackendOptions(['https://a:1'], { tls: { ca: '/nonexistent/ca.pem', cert: undefined, key: undefined } })),
      /CONFD_CLIENT_CAKEYS: cannot read \/nonexistent\/ca.pem \(ENOENT\)/,
    );
    assert.throws(
      () => createEtcdBackend(etcdBackendOptions(['https://a:1'], { tls: { ca: undefined, cert: '/x.pem', key: undefined } })),
      /CONFD_CLIENT_KEY: .*without its key/,
    );
  });

  it('describes its source without credentials', () => {
    const b = createEtcdBackend(etcdBackendOptions(['a:1', 'b:2'], { username: 'u', password: 'secret' }));
    assert.equal(b.name, 'etcd');
    assert.equal(b.source, 'http://a:1,http://b:2');
  });
});
