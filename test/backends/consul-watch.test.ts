// The Consul backend's watch() against the Consul double: changes arrive as deltas from
// blocking queries (never polling), an index that goes backwards triggers a full resync, and
// close() leaves nothing behind.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Backend, BackendOptions } from '../../src/backends/backend.ts';
import { createConsulBackend, type ConsulBackendTuning } from '../../src/backends/consul.ts';
import { frozenClock, startConsulDouble, type ConsulDouble, type RecordedRequest } from '../support/consul/double.ts';
import { recorder, isUpdate, isStatus } from '../support/watch-events.ts';
import { backendOptions } from '../support/backend-options.ts';

function options(nodes: string[]): BackendOptions {
  return backendOptions({ nodes });
}

/** A listener that records what it is told and lets a test await it. */
const blocking = (r: RecordedRequest): boolean => r.path.startsWith('/v1/kv/') && r.query['index'] !== undefined;

let consul: ConsulDouble;
let backend: Backend | undefined;
let stop: AbortController;

async function start(tuning: ConsulBackendTuning, keys: string[], prepare: (c: ConsulDouble) => void = () => {}) {
  prepare(consul);
  backend = createConsulBackend(options([consul.address]), { backoff: { initialMs: 50, maxMs: 200 }, ...tuning });
  const snapshot = await backend.read(keys, stop.signal);
  const rec = recorder();
  backend.watch(keys, snapshot.cursor, rec.listener, stop.signal);
  return { snapshot, rec };
}

describe('consul watch()', () => {
  beforeEach(async () => {
    stop = new AbortController();
  });
  afterEach(async () => {
    stop.abort();
    await backend?.close();
    backend = undefined;
    await consul.stop();
  });

  it('delivers a put and a delete under the watched key as deltas', async () => {
    consul = await startConsulDouble({ blockingJitter: false });
    const { rec } = await start({ waitMs: 30_000 }, ['/app/db'], (c) => {
      c.put('app/db/host', 'h1');
      c.put('elsewhere', 'e');
    });
    await consul.waitForParked(1);
    consul.put('app/db/host', 'h2');
    const changed = await rec.next('the put', isUpdate);
    assert.deepEqual(changed, { update: { kind: 'delta', set: new Map([['/app/db/host', 'h2']]), deleted: [] } });
    consul.put('app/dbx', 'prefix match');
    const added = await rec.next('the put on /app/dbx', isUpdate);
    assert.deepEqual(added, { update: { kind: 'delta', set: new Map([['/app/dbx', 'prefix match']]), deleted: [] } });
    consul.delete('app/db/host');
    const deleted = await rec.next('the delete', isUpdate);
    assert.deepEqual(deleted, { update: { kind: 'delta', set: new Map(), deleted: ['/app/db/host'] } });
    assert.equal(rec.events.filter(isStatus).length, 0);
  });

  it('blocks on X-Consul-Index instead of polling, and delivers nothing when the index did not move', async () => {
    consul = await startConsulDouble({ blockingJitter: false });
    const waitMs = 300;
    const { snapshot, rec } = await start({ waitMs }, ['/app'], (c) => c.put('app/k', 'v'));
    const index = (snapshot.cursor as { indexes: Map<string, number> }).indexes.get('/app');
    // Five blocking queries in a row, with nothing changing: each must have been held for its
    // whole wait by the agent, so five take at least four waits.
    const seen: RecordedRequest[] = [];
    for (let i = 0; i < 5; i++) seen.push(await consul.waitForRequest(blocking, { fromSeq: (seen.at(-1)?.seq ?? -1) + 1 }));
    const first = seen[0] as RecordedRequest;
    const last = seen[4] as RecordedRequest;
    assert.ok(last.at - first.at >= 4 * waitMs * 0.9, `5 blocking queries in ${last.at - first.at} ms: polling?`);
    for (const r of seen) {
      assert.equal(r.query['index'], String(index));
      assert.equal(r.query['wait'], `${waitMs}ms`);
    }
    assert.equal(consul.requests((r) => r.query['index'] === '0').length, 0, 'index 0 is never sent');
    assert.equal(rec.events.length, 0, 'a wait that ran out is no change');
  });

  it('resyncs with a full update when the index goes backwards (snapshot restore)', async () => {
    consul = await startConsulDouble({ blockingJitter: false, clock: frozenClock() });
    const { snapshot, rec } = await start({ waitMs: 60_000 }, ['/app'], (c) => {
      c.put('app/a', '1');
      c.put('app/b', '2');
      c.put('app/c', '3');
    });
    const before = (snapshot.cursor as { indexes: Map<string, number> }).indexes.get('/app') as number;
    await consul.waitForParked(1);
    const mark = consul.requests().at(-1)?.seq ?? 0;
    consul.restoreSnapshot(before - 2);
    // The parked query comes back with its last result (same index: nothing to deliver) and
    // blocks again on the old index, which the restored store is now below...
    const again = await consul.waitForRequest(blocking, { fromSeq: mark + 1 });
    assert.equal(again.query['index'], String(before));
    await consul.waitForParked(1);
    assert.equal(rec.events.length, 0);
    // ...until its wait ends and it answers with the lower index: reset, fresh read, full update.
    consul.advanceTime(60_000);
    const full = await rec.next('the full resync', isUpdate);
    assert.deepEqual(full, {
      update: { kind: 'full', values: new Map([['/app/a', '1'], ['/app/b', '2'], ['/app/c', '3']]) },
    });
    const fresh = consul.requests((r) => r.seq > again.seq)[0];
    assert.equal(fresh?.path, '/v1/kv/app');
    assert.equal(fresh?.query['index'], undefined, 'the resync is a plain read');
    const resumed = await consul.waitForRequest((r) => blocking(r) && r.seq > again.seq);
    assert.equal(resumed.query['index'], String(before - 2), 'blocking resumes from the new, lower index');
    await consul.waitForParked(1);
    consul.put('app/d', '4');
    const delta = await rec.next('a write after the restore', isUpdate);
    assert.deepEqual(delta, { update: { kind: 'delta', set: new Map([['/app/d', '4']]), deleted: [] } });
    assert.equal(rec.events.filter(isStatus).length, 0);
  });

  it('waits on a key that does not exist yet and delivers it when it appears', async () => {
    consul = await startConsulDouble({ blockingJitter: false });
    const { snapshot, rec } = await start({ waitMs: 30_000 }, ['/later'], (c) => c.put('unrelated', 'u'));
    assert.equal(snapshot.values.size, 0);
    await consul.waitForParked(1);
    consul.put('unrelated', 'u2');
    consul.put('later/k', 'here');
    const delta = await rec.next('the new key', isUpdate);
    assert.deepEqual(delta, { update: { kind: 'delta', set: new Map([['/later/k', 'here']]), deleted: [] } });
    assert.equal(rec.events.length, 1);
  });

  it('runs one blocking query per requested key and reports each key’s change alone', async () => {
    consul = await startConsulDouble({ blockingJitter: false });
    const { rec } = await start({ waitMs: 30_000 }, ['/one', '/two', '/two/sub'], (c) => {
      c.put('one/k', '1');
      c.put('two/k', '2');
    });
    await consul.waitForParked(2);
    const parked = consul.requests(blocking).map((r) => r.path).sort();
    assert.deepEqual(parked, ['/v1/kv/one', '/v1/kv/two']);
    consul.put('two/sub/k', 'new');
    const delta = await rec.next('the put under /two', isUpdate);
    assert.deepEqual(delta, { update: { kind: 'delta', set: new Map([['/two/sub/k', 'new']]), deleted: [] } });
  });

  it('starts with a fresh read and a full update when the cursor is not its own', async () => {
    consul = await startConsulDouble({ blockingJitter: false });
    consul.put('app/k', 'v');
    backend = createConsulBackend(options([consul.address]), { waitMs: 30_000 });
    const rec = recorder();
    backend.watch(['/app'], undefined, rec.listener, stop.signal);
    const full = await rec.next('the initial full update', isUpdate);
    assert.deepEqual(full, { update: { kind: 'full', values: new Map([['/app/k', 'v']]) } });
    await consul.waitForParked(1);
  });

  it('ends its blocking query when the caller aborts', async () => {
    consul = await startConsulDouble({ blockingJitter: false });
    const { rec } = await start({ waitMs: 60_000 }, ['/app'], (c) => c.put('app/k', 'v'));
    await consul.waitForParked(1);
    const unparked = once(consul.events, 'unparked', { signal: AbortSignal.timeout(5_000) });
    stop.abort();
    await unparked;
    consul.put('app/k', 'after');
    assert.equal(consul.parkedQueries(), 0);
    assert.equal(rec.events.length, 0);
  });

  it('close() ends its blocking query and leaves no handle behind', async () => {
    consul = await startConsulDouble({ blockingJitter: false });
    consul.put('app/k', 'v');
    const module = fileURLToPath(new URL('../../src/backends/consul.ts', import.meta.url));
    // A child process that reads and watches, then closes when told: if close() left a socket
    // or a timer, the child would not exit on its own.
    const script = `
      import { createConsulBackend } from ${JSON.stringify(module)};
      const b = createConsulBackend({ nodes: [${JSON.stringify(consul.address)}], scheme: 'http', files: [], tls: {}, env: {} }, { waitMs: 60000 });
      const c = new AbortController();
      const s = await b.read(['/app'], c.signal);
      b.watch(['/app'], s.cursor, { update() {}, status() {} }, c.signal);
      process.stdin.once('data', async () => { process.stdin.destroy(); await b.close(); process.stdout.write('closed'); });
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = once(child, 'exit');
    await consul.waitForParked(1);
    const unparked = once(consul.events, 'unparked', { signal: AbortSignal.timeout(5_000) });
    child.stdin.write('close\n');
    await unparked;
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    const [code, signalName] = (await exited) as [number | null, string | null];
    clearTimeout(timer);
    assert.equal(out, 'closed');
    assert.deepEqual([code, signalName], [0, null], 'the child exits by itself after close()');
  });
});
