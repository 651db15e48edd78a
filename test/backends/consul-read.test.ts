// The Consul backend's read() against the Consul double: what confd's consul backend would
// return for the same store (keys made absolute, plain string-prefix matching, folders, empty
// values), ACL tokens, TLS with client certificates, fail-over, configuration errors.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createConsulBackend } from '../../src/backends/consul.ts';
import { ConfigError } from '../../src/core/exit-codes.ts';
import { startConsulDouble, type ConsulDouble } from '../support/consul/double.ts';
import { testTlsFiles, testTlsServerOptions } from '../support/consul/tls.ts';
import { backendOptions } from '../support/backend-options.ts';

const fast = { requestTimeoutMs: 2_000, backoff: { initialMs: 50, maxMs: 200 } };
const signal = (): AbortSignal => new AbortController().signal;

/** An address where nothing listens: connections are refused. */
async function deadAddress(): Promise<string> {
  const gone = await startConsulDouble();
  await gone.stop();
  return gone.address;
}

describe('consul read()', () => {
  let consul: ConsulDouble;
  before(async () => {
    consul = await startConsulDouble();
    consul.put('app/db', 'x');
    consul.put('app/dbx', 'y');
    consul.put('app/db/host', 'h');
    consul.put('app/folder/', '');
    consul.put('app/empty', '');
    consul.put('app/nested/deep/key', 'deep');
    consul.put('other', 'o');
  });
  after(async () => {
    await consul.stop();
  });

  it('returns every key with the requested prefix, absolute, /app/db covering /app/dbx as in confd', async () => {
    const backend = createConsulBackend(backendOptions({ nodes: [consul.address] }), fast);
    try {
      const snapshot = await backend.read(['/app/db'], signal());
      assert.deepEqual(
        [...snapshot.values].sort(),
        [
          ['/app/db', 'x'],
          ['/app/db/host', 'h'],
          ['/app/dbx', 'y'],
        ],
      );
      assert.equal(backend.covers('/app/db', '/app/dbx'), true);
      assert.equal(backend.covers('/app/db', '/app/db/host'), true);
      assert.equal(backend.covers('/app/db', '/app/d'), false);
      assert.equal(backend.covers('/app/db', '/other'), false);
      const request = consul.requests((r) => r.path.startsWith('/v1/kv/')).at(-1);
      assert.equal(request?.path, '/v1/kv/app/db', 'the leading slash is stripped for the API');
      assert.ok('recurse' in (request?.query ?? {}));
    } finally {
      await backend.close();
    }
  });

  it('reads nested keys, folders as their cleaned name and empty values as ""', async () => {
    const backend = createConsulBackend(backendOptions({ nodes: [consul.address] }), fast);
    try {
      const { values } = await backend.read(['/app'], signal());
      assert.equal(values.get('/app/nested/deep/key'), 'deep');
      assert.equal(values.get('/app/folder'), '', 'the folder key app/folder/ is cleaned as confd path.Join does');
      assert.equal(values.get('/app/empty'), '');
      assert.equal(values.has('/other'), false);
      assert.equal(values.size, 6);
    } finally {
      await backend.close();
    }
  });

  it('returns nothing, without an error, for a prefix with no keys', async () => {
    const backend = createConsulBackend(backendOptions({ nodes: [consul.address] }), fast);
    try {
      const snapshot = await backend.read(['/missing'], signal());
      assert.equal(snapshot.values.size, 0);
    } finally {
      await backend.close();
    }
  });

  it('reads several keys, the root, and a key covered by another only once', async () => {
    const backend = createConsulBackend(backendOptions({ nodes: [consul.address] }), fast);
    try {
      consul.clearRequests();
      const { values } = await backend.read(['/app/db', '/other', '/app'], signal());
      assert.equal(values.size, 7);
      assert.deepEqual(consul.requests().map((r) => r.path).sort(), ['/v1/kv/app', '/v1/kv/other']);
      const all = await backend.read(['/'], signal());
      assert.equal(all.values.size, 7);
      assert.equal(all.values.get('/other'), 'o');
    } finally {
      await backend.close();
    }
  });

  it('rejects with the address when the agent refuses connections', async () => {
    const dead = await deadAddress();
    const backend = createConsulBackend(backendOptions({ nodes: [dead] }), fast);
    try {
      await assert.rejects(backend.read(['/app'], signal()), (error: Error) => {
        assert.match(error.message, new RegExp(`${dead.replace('.', '\\.')}.*connection refused`));
        return true;
      });
    } finally {
      await backend.close();
    }
  });

  it('fails over to the next agent when the first refuses connections', async () => {
    const dead = await deadAddress();
    const backend = createConsulBackend(backendOptions({ nodes: [dead, consul.url] }), fast);
    try {
      assert.equal(backend.source, `http://${dead}, ${consul.url}`);
      const { values } = await backend.read(['/other'], signal());
      assert.equal(values.get('/other'), 'o');
    } finally {
      await backend.close();
    }
  });

  it('rejects at once when the caller aborts', async () => {
    const backend = createConsulBackend(backendOptions({ nodes: [consul.address] }), fast);
    try {
      const controller = new AbortController();
      controller.abort(new Error('stop'));
      await assert.rejects(backend.read(['/app'], controller.signal), /stop/);
    } finally {
      await backend.close();
    }
  });
});

describe('consul ACL token', () => {
  let consul: ConsulDouble;
  before(async () => {
    consul = await startConsulDouble({ aclToken: 's3cret' });
    consul.put('app/k', 'v');
  });
  after(async () => {
    await consul.stop();
  });

  it('sends the token (CONSUL_HTTP_TOKEN) and never shows it in the source', async () => {
    const backend = createConsulBackend(backendOptions({ nodes: [consul.address], token: 's3cret' }), fast);
    try {
      assert.doesNotMatch(backend.source, /s3cret/);
      const { values } = await backend.read(['/app'], signal());
      assert.equal(values.get('/app/k'), 'v');
      assert.equal(consul.requests().at(-1)?.headers['x-consul-token'], 's3cret');
    } finally {
      await backend.close();
    }
  });

  it('sees nothing without a token, as Consul filters recursive reads for the anonymous token', async () => {
    const backend = createConsulBackend(backendOptions({ nodes: [consul.address] }), fast);
    try {
      const { values } = await backend.read(['/app'], signal());
      assert.equal(values.size, 0);
    } finally {
      await backend.close();
    }
  });

  it('rejects with Consul’s answer for an unknown token', async () => {
    const backend = createConsulBackend(backendOptions({ nodes: [consul.address], token: 'wrong' }), fast);
    try {
      await assert.rejects(backend.read(['/app'], signal()), (error: Error) => {
        assert.match(error.message, /403 ACL not found/);
        assert.doesNotMatch(error.message, /wrong/);
        return true;
      });
    } finally {
      await backend.close();
    }
  });
});

describe('consul over TLS with client certificates', () => {
  const files = testTlsFiles();
  let consul: ConsulDouble;
  before(async () => {
    consul = await startConsulDouble({ tls: testTlsServerOptions(true) });
    consul.put('app/k', 'secure');
  });
  after(async () => {
    await consul.stop();
  });

  it('reads with the CA and a client certificate, CONFD_SCHEME=https for a bare address', async () => {
    const backend = createConsulBackend(
      backendOptions({
        nodes: [consul.address],
        scheme: 'https',
        tls: { ca: files.caFile, cert: files.clientCertFile, key: files.clientKeyFile },
      }),
      fast,
    );
    try {
      assert.equal(backend.source, consul.url);
      const { values } = await backend.read(['/app'], signal());
      assert.equal(values.get('/app/k'), 'secure');
    } finally {
      await backend.close();
    }
  });

  it('takes the scheme of an https:// address over CONFD_SCHEME', async () => {
    const backend = createConsulBackend(
      backendOptions({ nodes: [consul.url], scheme: 'http', tls: { ca: files.caFile, cert: files.clientCertFile, key: files.clientKeyFile } }),
      fast,
    );
    try {
      const { values } = await backend.read(['/app'], signal());
      assert.equal(values.get('/app/k'), 'secure');
    } finally {
      await backend.close();
    }
  });

  it('cannot read without a client certificate or with an untrusted one', async () => {
    for (const tls of [
      { ca: files.caFile, cert: undefined, key: undefined },
      { ca: files.caFile, cert: files.rogueClientCertFile, key: files.rogueClientKeyFile },
    ]) {
      const backend = createConsulBackend(backendOptions({ nodes: [consul.url], tls }), fast);
      try {
        await assert.rejects(backend.read(['/app'], signal()));
      } finally {
        await backend.close();
      }
    }
  });
});

describe('consul configuration errors', () => {
  it('defaults to 127.0.0.1:8500 and rejects unknown schemes naming the variable', () => {
    assert.equal(createConsulBackend(backendOptions()).source, 'http://127.0.0.1:8500');
    assert.equal(createConsulBackend(backendOptions({ nodes: ['consul'] })).source, 'http://consul:8500');
    assert.throws(() => createConsulBackend(backendOptions({ nodes: ['ftp://h:1'] })), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /CONFD_NODE.*ftp.*accepted: http, https/);
      return true;
    });
    assert.throws(() => createConsulBackend(backendOptions({ nodes: ['h:1'], scheme: 'gopher' })), /CONFD_SCHEME.*gopher/);
  });

  it('needs a client key with a client certificate, and readable files', () => {
    const files = testTlsFiles();
    assert.throws(
      () => createConsulBackend(backendOptions({ tls: { ca: undefined, cert: files.clientCertFile, key: undefined } })),
      /CONFD_CLIENT_KEY/,
    );
    assert.throws(
      () => createConsulBackend(backendOptions({ tls: { ca: '/nonexistent/ca.pem', cert: undefined, key: undefined } })),
      /CONFD_CLIENT_CAKEYS.*\/nonexistent\/ca\.pem/,
    );
  });
});
