// watch() against a real etcd, as the templates part uses it: read, then watch from the read's
// cursor, and apply what arrives.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Etcd3 } from 'etcd3';
import type { Backend } from '../../src/backends/backend.ts';
import { createEtcdBackend, type EtcdTuning } from '../../src/backends/etcd.ts';
import { etcdBackendOptions, etcdMetric, etcdSkipReason, startEtcd, watchRecorder, type EtcdServer, type WatchRecorder } from '../support/etcd.ts';

const skip = etcdSkipReason();
const fast: Partial<EtcdTuning> = { requestTimeoutMs: 2000, connectTimeoutMs: 2000, backoff: { initialMs: 100, maxMs: 500 } };

describe('etcd watch', { skip }, () => {
  let etcd: EtcdServer;
  let backend: Backend;
  const stop = new AbortController();
  before(async () => {
    etcd = await startEtcd();
    backend = createEtcdBackend(etcdBackendOptions([etcd.endpoint]), fast);
  });
  after(async () => {
    stop.abort();
    await backend?.close();
    await etcd?.stop();
  });

  async function readAndWatch(keys: readonly string[], between?: () => Promise<unknown>): Promise<WatchRecorder> {
    const snapshot = await backend.read(keys, stop.signal);
    await between?.();
    const recorder = watchRecorder(snapshot.values);
    backend.watch(keys, snapshot.cursor, recorder, stop.signal);
    return recorder;
  }

  it('delivers a put made between the read and the watch', async () => {
    await etcd.put('/w1/app/db/host', 'old');
    const w = await readAndWatch(['/w1/app/db'], () => etcd.put('/w1/app/db/host', 'between'));
    await w.until('the put made before the watch started', () => w.view.get('/w1/app/db/host') === 'between');
    await etcd.put('/w1/app/db/port', '5432');
    await w.until('a later put', () => w.view.get('/w1/app/db/port') === '5432');
    assert.deepEqual(w.updates, [
      { kind: 'delta', set: new Map([['/w1/app/db/host', 'between']]), deleted: [] },
      { kind: 'delta', set: new Map([['/w1/app/db/port', '5432']]), deleted: [] },
    ]);
    assert.deepEqual(w.statuses, []);
  });

  it('delivers deletes, of one key and of a whole prefix', async () => {
    for (const k of ['/w2/a', '/w2/a/1', '/w2/a/2', '/w2/b']) await etcd.put(k, 'v');
    const w = await readAndWatch(['/w2/a', '/w2/b']);
    assert.equal(w.view.size, 4);
    await etcd.delete('/w2/b');
    await w.until('/w2/b deleted', () => !w.view.has('/w2/b'));
    await etcd.delete('/w2/a', { prefix: true });
    await w.until('everything under /w2/a deleted', () => w.view.size === 0);
    assert.deepEqual(w.updates.at(-1), { kind: 'delta', set: new Map(), deleted: ['/w2/a', '/w2/a/1', '/w2/a/2'] });
  });

  it('leaves out keys the requested key does not cover (/app/dbx for /app/db)', async () => {
    const w = await readAndWatch(['/w3/app/db']);
    await etcd.put('/w3/app/dbx', 'not mine');
    await etcd.put('/w3/app/dbx/host', 'not mine either');
    await etcd.put('/w3/app/db/host', 'mine');
    await w.until('/w3/app/db/host', () => w.view.get('/w3/app/db/host') === 'mine');
    assert.deepEqual([...w.view], [['/w3/app/db/host', 'mine']]);
    assert.equal(w.updates.length, 1);
  });

  it('delivers each change once when requested keys nest, and a transaction as one update', async () => {
    const w = await readAndWatch(['/w4/app', '/w4/app/db', '/w4/app/db/host', '/w4/other']);
    const writer = new Etcd3({ hosts: etcd.endpoint });
    try {
      await writer.put('/w4/app/db/host').value('h');
      await writer.stm().transact((tx) => Promise.all([tx.put('/w4/app/a').value('1'), tx.put('/w4/app/b').value('2')]));
    } finally {
      writer.close();
    }
    await w.until('both transaction keys', () => w.view.get('/w4/app/b') === '2' && w.view.get('/w4/app/a') === '1');
    // The watch may have caught up on both revisions in one update, but never splits a revision.
    const sets = w.updates.flatMap((u) => (u.kind === 'delta' ? [...u.set.keys()] : []));
    assert.deepEqual(sets.sort(), ['/w4/app/a', '/w4/app/b', '/w4/app/db/host']);
    assert.ok(w.updates.some((u) => u.kind === 'delta' && u.set.has('/w4/app/a') && u.set.has('/w4/app/b')));
  });

  it('catches up on a long history from an old cursor without losing an event', async () => {
    const snapshot = await backend.read(['/w5'], stop.signal);
    // More revisions than etcd sends in one catch-up batch (1000), each on its own key.
    const writer = new Etcd3({ hosts: etcd.endpoint });
    try {
      for (let i = 0; i < 2500; i++) await writer.put(`/w5/k${i}`).value(String(i));
    } finally {
      writer.close();
    }
    const w = watchRecorder(snapshot.values);
    backend.watch(['/w5'], snapshot.cursor, w, stop.signal);
    await w.until('all 2500 keys', () => w.view.size === 2500);
    assert.ok(w.updates.length >= 3, `expected several catch-up batches, got ${w.updates.length}`);
    for (let i = 0; i < 2500; i++) assert.equal(w.view.get(`/w5/k${i}`), String(i));
  });

  it('watches hundreds of keys on one stream', async () => {
    // A backend of its own, so that every stream it opens shows in etcd's counts.
    const own = createEtcdBackend(etcdBackendOptions([etcd.endpoint]), fast);
    const STREAMS = 'etcd_debugging_mvcc_watch_stream_total';
    const STARTED = 'grpc_server_started_total{grpc_method="Watch",grpc_service="etcdserverpb.Watch",grpc_type="bidi_stream"}';
    try {
      const [streams, started] = [await etcdMetric(etcd, STREAMS), await etcdMetric(etcd, STARTED)];
      const keys = Array.from({ length: 300 }, (_, i) => `/w7/k${i}`);
      const snapshot = await own.read(keys, stop.signal);
      const w = watchRecorder(snapshot.values);
      own.watch(keys, snapshot.cursor, w, stop.signal);
      await etcd.put('/w7/k299', 'last');
      await etcd.put('/w7/k0', 'first');
      await w.until('the first and the last key', () => w.view.get('/w7/k0') === 'first' && w.view.get('/w7/k299') === 'last');
      assert.equal((await etcdMetric(etcd, STREAMS)) - streams, 1, 'watch streams open now');
      assert.equal((await etcdMetric(etcd, STARTED)) - started, 1, 'watch streams started since the read');
    } finally {
      await own.close();
    }
  });

  it('stops delivering when its signal aborts', async () => {
    const abort = new AbortController();
    const snapshot = await backend.read(['/w6'], abort.signal);
    const w = watchRecorder(snapshot.values);
    backend.watch(['/w6'], snapshot.cursor, w, AbortSignal.any([abort.signal, stop.signal]));
    await etcd.put('/w6/a', '1');
    await w.until('/w6/a', () => w.view.get('/w6/a') === '1');
    abort.abort();
    // A second watch on the same key is the witness that the put below went out.
    const witness = await readAndWatch(['/w6']);
    await etcd.put('/w6/a', '2');
    await witness.until('the witness sees the put', () => witness.view.get('/w6/a') === '2');
    assert.equal(w.view.get('/w6/a'), '1');
  });
});
