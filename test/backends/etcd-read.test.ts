// read() against a real etcd: what confd's etcdv3 GetValues returns, at one revision, over TLS,
// with a login, and within its deadline when etcd hangs.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Etcd3 } from 'etcd3';
import type { Backend } from '../../src/backends/backend.ts';
import { createEtcdBackend } from '../../src/backends/etcd.ts';
import { etcdBackendOptions, etcdSkipReason, startEtcd, watchRecorder, type EtcdServer } from '../support/etcd.ts';

const skip = etcdSkipReason();
const never = new AbortController().signal;

describe('etcd read', { skip }, () => {
  let etcd: EtcdServer;
  let backend: Backend;
  before(async () => {
    etcd = await startEtcd();
    backend = createEtcdBackend(etcdBackendOptions([etcd.endpoint]), { requestTimeoutMs: 3000 });
  });
  after(async () => {
    await backend?.close();
    await etcd?.stop();
  });

  it('returns the key and what lies below it, not /app/dbx next to /app/db', async () => {
    for (const [k, v] of [
      ['/r1/app/db', 'db'],
      ['/r1/app/db/host', 'h'],
      ['/r1/app/db/replica/1/host', 'r1'],
      ['/r1/app/dbx', 'x'],
      ['/r1/app/dbx/host', 'xh'],
      ['/r1/app/d', 'd'],
    ]) {
      await etcd.put(k!, v!);
    }
    const snapshot = await backend.read(['/r1/app/db'], never);
    assert.deepEqual(
      new Map([...snapshot.values].sort()),
      new Map([
        ['/r1/app/db', 'db'],
        ['/r1/app/db/host', 'h'],
        ['/r1/app/db/replica/1/host', 'r1'],
      ]),
    );
    const both = await backend.read(['/r1/app/db', '/r1/app/dbx', '/r1/app/missing'], never);
    assert.deepEqual([...both.values.keys()].sort(), ['/r1/app/db', '/r1/app/db/host', '/r1/app/db/replica/1/host', '/r1/app/dbx', '/r1/app/dbx/host']);
  });

  it('returns the revision it read at as the cursor', async () => {
    const revision = await etcd.put('/r2/a', '1');
    const snapshot = await backend.read(['/r2'], never);
    assert.equal(snapshot.cursor, revision);
    assert.deepEqual([...snapshot.values], [['/r2/a', '1']]);
    const empty = await backend.read([], never);
    assert.equal(empty.cursor, revision);
    assert.equal(empty.values.size, 0);
  });

  it('reads more than 128 keys (several transactions) at one revision while they change', async () => {
    // 300 keys, each requested on its own: three transactions. A writer keeps setting the first
    // and the last key to the same generation in one transaction; a read whose batches saw
    // different revisions would return them unequal.
    const keys = Array.from({ length: 300 }, (_, i) => `/r3/k${String(i).padStart(3, '0')}`);
    const first = keys[0]!;
    const last = keys.at(-1)!;
    const writer = new Etcd3({ hosts: etcd.endpoint });
    try {
      await writer.put(first).value('0');
      await writer.put(last).value('0');
      for (const k of keys.slice(1, -1)) await writer.put(k).value('v');
      let writing = true;
      let generation = 0;
      const writes = (async () => {
        while (writing) {
          generation++;
          await writer.stm().transact((tx) => Promise.all([tx.put(first).value(String(generation)), tx.put(last).value(String(generation))]));
        }
      })();
      const generationsSeen = new Set<string>();
      try {
        for (let i = 0; i < 25; i++) {
          const snapshot = await backend.read(keys, never);
          assert.equal(snapshot.values.size, 300);
          assert.equal(snapshot.values.get(first), snapshot.values.get(last), `read ${i}: batches at different revisions`);
          generationsSeen.add(snapshot.values.get(first)!);
          // The cursor is the revision every batch read at: etcd itself agrees on the values.
          const atCursor = await writer.get(first).revision(Number(snapshot.cursor)).string();
          assert.equal(atCursor, snapshot.values.get(first));
        }
      } finally {
        writing = false;
        await writes;
      }
      assert.ok(generationsSeen.size > 1, 'the writer should have changed the keys during the reads');
    } finally {
      writer.close();
    }
  });

  it('reads values larger than gRPC\'s default 4 MiB message limit', async () => {
    const big = 'x'.repeat(1024 * 1024);
    for (let i = 0; i < 6; i++) await etcd.put(`/r4/big/${i}`, big);
    const snapshot = await backend.read(['/r4/big'], never);
    assert.equal(snapshot.values.size, 6);
    assert.equal(snapshot.values.get('/r4/big/5')?.length, big.length);
  });

  it('rejects at once when the caller aborts', async () => {
    const abort = new AbortController();
    abort.abort(new Error('stop reading'));
    await assert.rejects(backend.read(['/r1'], abort.signal), /stop reading/);
  });

  it('rejects within its deadline when etcd hangs (SIGSTOP), and reads again once it runs', async () => {
    const hung = createEtcdBackend(etcdBackendOptions([etcd.endpoint]), { requestTimeoutMs: 700 });
    try {
      await hung.read(['/r1'], never);
      await etcd.pause();
      const started = Date.now();
      try {
        await assert.rejects(hung.read(['/r1/app/db'], never), (e: Error) => {
          assert.match(e.message, new RegExp(`cannot read 1 key\\(s\\) from etcd at ${etcd.endpoint}: .*(deadline|no answer within)`, 'i'));
          return true;
        });
      } finally {
        await etcd.resume();
      }
      const took = Date.now() - started;
      assert.ok(took >= 600 && took < 1500, `read gave up after ${took} ms, expected about 700 ms`);
      assert.equal((await hung.read(['/r1/app/db'], never)).values.get('/r1/app/db'), 'db');
    } finally {
      await hung.close();
    }
  });

  it('rejects with the endpoint and the reason when etcd is not there', async () => {
    const nowhere = createEtcdBackend(etcdBackendOptions(['127.0.0.1:1']), { requestTimeoutMs: 2000 });
    try {
      await assert.rejects(nowhere.read(['/x'], never), /cannot read 1 key\(s\) from etcd at http:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/);
    } finally {
      await nowhere.close();
    }
  });

  it('fails over to the next endpoint when the first is down', async () => {
    const failover = createEtcdBackend(etcdBackendOptions(['127.0.0.1:1', etcd.endpoint]), { requestTimeoutMs: 2000 });
    try {
      for (let i = 0; i < 5; i++) assert.equal((await failover.read(['/r1/app/db'], never)).values.get('/r1/app/db'), 'db');
    } finally {
      await failover.close();
    }
  });
});

describe('etcd read over TLS with client certificates', { skip }, () => {
  let etcd: EtcdServer;
  before(async () => {
    etcd = await startEtcd({ tls: { clientCertAuth: true } });
    await etcd.put('/tls/key', 'secure');
  });
  after(async () => {
    await etcd?.stop();
  });

  it('reads with the CA and the client certificate, with or without a scheme in CONFD_NODE', async () => {
    const tls = { ca: etcd.tls!.ca, cert: etcd.tls!.cert, key: etcd.tls!.key };
    for (const node of [etcd.endpoint, `127.0.0.1:${etcd.clientPort}`]) {
      const backend = createEtcdBackend(etcdBackendOptions([node], { tls }), { requestTimeoutMs: 3000 });
      try {
        assert.equal(backend.source, etcd.endpoint);
        assert.deepEqual([...(await backend.read(['/tls'], never)).values], [['/tls/key', 'secure']]);
      } finally {
        await backend.close();
      }
    }
  });

  it('watches over TLS', async () => {
    const tls = { ca: etcd.tls!.ca, cert: etcd.tls!.cert, key: etcd.tls!.key };
    const backend = createEtcdBackend(etcdBackendOptions([etcd.endpoint], { tls }), { requestTimeoutMs: 3000 });
    const stop = new AbortController();
    try {
      const snapshot = await backend.read(['/tls'], stop.signal);
      const w = watchRecorder(snapshot.values);
      backend.watch(['/tls'], snapshot.cursor, w, stop.signal);
      await etcd.put('/tls/watched', 'yes');
      await w.until('the put', () => w.view.get('/tls/watched') === 'yes');
      assert.deepEqual(w.statuses, []);
    } finally {
      stop.abort();
      await backend.close();
    }
  });

  it('does not trust the server without its CA (system and Node CAs only)', async () => {
    const tls = { ca: undefined, cert: etcd.tls!.cert, key: etcd.tls!.key };
    const backend = createEtcdBackend(etcdBackendOptions([etcd.endpoint], { tls }), { requestTimeoutMs: 3000 });
    try {
      await assert.rejects(backend.read(['/tls'], new AbortController().signal), /cannot read 1 key\(s\) from etcd at https:.*(certificate|UNAVAILABLE)/i);
    } finally {
      await backend.close();
    }
  });

  it('is refused without a client certificate', async () => {
    const backend = createEtcdBackend(etcdBackendOptions([etcd.endpoint], { tls: { ca: etcd.tls!.ca, cert: undefined, key: undefined } }), {
      requestTimeoutMs: 3000,
    });
    try {
      await assert.rejects(backend.read(['/tls'], never), /cannot read 1 key\(s\) from etcd at https:/);
    } finally {
      await backend.close();
    }
  });
});

describe('etcd read with a user name and password', { skip }, () => {
  let etcd: EtcdServer;
  before(async () => {
    etcd = await startEtcd();
    await etcd.put('/auth/key', 'v');
    await etcd.enableAuth('root', 'rootpw');
  });
  after(async () => {
    await etcd?.stop();
  });

  it('logs in and reads', async () => {
    const backend = createEtcdBackend(etcdBackendOptions([etcd.endpoint], { username: 'root', password: 'rootpw' }));
    try {
      assert.deepEqual([...(await backend.read(['/auth'], never)).values], [['/auth/key', 'v']]);
    } finally {
      await backend.close();
    }
  });

  it('rejects a wrong password, and reading without a login', async () => {
    const wrong = createEtcdBackend(etcdBackendOptions([etcd.endpoint], { username: 'root', password: 'nope' }));
    const anonymous = createEtcdBackend(etcdBackendOptions([etcd.endpoint]));
    try {
      await assert.rejects(wrong.read(['/auth'], never), /authentication failed/);
      await assert.rejects(anonymous.read(['/auth'], never), /user name is empty|permission denied/);
    } finally {
      await wrong.close();
      await anonymous.close();
    }
  });
});
