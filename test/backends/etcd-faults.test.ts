// watch() when etcd goes away, compacts, freezes or is cut off, and close() leaving nothing
// behind. A TCP proxy between steward and etcd cuts the connection while both stay alive.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { Etcd3 } from 'etcd3';
import type { Backend } from '../../src/backends/backend.ts';
import { createEtcdBackend, type EtcdTuning } from '../../src/backends/etcd.ts';
import { etcdBackendOptions, etcdSkipReason, startEtcd, watchRecorder, type EtcdServer, type WatchRecorder } from '../support/etcd.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';

const skip = etcdSkipReason();
const fast: Partial<EtcdTuning> = {
  requestTimeoutMs: 2000,
  connectTimeoutMs: 1500,
  keepaliveTimeMs: 1000,
  keepaliveTimeoutMs: 1000,
  backoff: { initialMs: 100, maxMs: 400 },
};

describe('etcd watch through faults', { skip }, () => {
  let etcd: EtcdServer;
  const stop = new AbortController();
  const cleanups: (() => Promise<unknown>)[] = [];
  before(async () => {
    // etcd refuses keepalive pings more often than every 5 s by default; the tests ping every second.
    etcd = await startEtcd({ extraArgs: ['--grpc-keepalive-min-time=500ms'] });
  });
  after(async () => {
    stop.abort();
    for (const cleanup of cleanups.reverse()) await cleanup();
    await etcd?.stop();
  });

  async function proxy(): Promise<TcpProxy> {
    const p = await startTcpProxy(etcd.clientPort);
    cleanups.push(() => p.close());
    return p;
  }

  function backendFor(nodes: readonly string[], tuning: Partial<EtcdTuning> = fast): Backend {
    const b = createEtcdBackend(etcdBackendOptions(nodes), tuning);
    cleanups.push(() => b.close());
    return b;
  }

  async function readAndWatch(b: Backend, keys: readonly string[]): Promise<WatchRecorder> {
    const snapshot = await b.read(keys, stop.signal);
    const w = watchRecorder(snapshot.values);
    b.watch(keys, snapshot.cursor, w, stop.signal);
    return w;
  }

  /** A put through a key nobody else uses proves the watch is set up and delivering. */
  async function live(w: WatchRecorder, key: string): Promise<void> {
    const value = `live-${Date.now()}-${Math.random()}`;
    await etcd.put(key, value);
    await w.until(`${key} = ${value}`, () => w.view.get(key) === value);
  }

  const states = (w: WatchRecorder): string[] => w.statuses.map((s) => s.state);

  it('reports unreachable once when etcd is killed, ok when it is back, and delivers what changed', async () => {
    const p = await proxy();
    const b = backendFor([p.address]);
    const w = await readAndWatch(b, ['/f1']);
    await live(w, '/f1/live');
    await etcd.kill();
    await w.until('unreachable', () => w.statuses.length > 0);
    const down = w.statuses[0]!;
    assert.equal(down.state, 'unreachable');
    assert.ok(down.state === 'unreachable' && down.retryInMs > 0 && /ECONNREFUSED|UNAVAILABLE/.test(down.error), JSON.stringify(down));
    // etcd comes back while steward still cannot reach it: a put made then is only found by
    // resuming from the last revision steward saw.
    await p.pause('refuse');
    await etcd.restart();
    await etcd.put('/f1/while-down', 'A');
    await p.resume();
    await w.until('ok again and the put made while down', () => states(w).at(-1) === 'ok' && w.view.get('/f1/while-down') === 'A');
    await etcd.put('/f1/after', 'B');
    await w.until('the put made after', () => w.view.get('/f1/after') === 'B');
    assert.deepEqual(states(w), ['unreachable', 'ok']);
    assert.ok(!w.updates.some((u) => u.kind === 'full'), 'resumed from its revision, no resync needed');
  });

  it('survives a plain etcd restart with nothing in between', async () => {
    const b = backendFor([etcd.endpoint]);
    const w = await readAndWatch(b, ['/f2']);
    await live(w, '/f2/live');
    await etcd.kill();
    await w.until('unreachable', () => states(w).includes('unreachable'));
    await etcd.restart();
    await etcd.put('/f2/after', 'B');
    await w.until('ok and the put after the restart', () => states(w).at(-1) === 'ok' && w.view.get('/f2/after') === 'B');
    assert.deepEqual(states(w), ['unreachable', 'ok']);
  });

  it('reads again at once after etcd restarts (no client-side circuit breaker holding it off)', async () => {
    const b = backendFor([etcd.endpoint]);
    await etcd.put('/f10/k', 'v');
    await etcd.kill();
    await assert.rejects(b.read(['/f10'], stop.signal), /cannot read 1 key\(s\) from etcd at .*ECONNREFUSED/);
    await assert.rejects(b.read(['/f10'], stop.signal));
    await etcd.restart();
    assert.equal((await b.read(['/f10'], stop.signal)).values.get('/f10/k'), 'v');
  });

  it('sends a full update when the cursor was compacted, then keeps watching from there', async () => {
    const b = backendFor([etcd.endpoint]);
    await etcd.put('/f3/gone', 'x');
    await etcd.put('/f3/changed', 'old');
    const snapshot = await b.read(['/f3'], stop.signal);
    await etcd.delete('/f3/gone');
    await etcd.put('/f3/changed', 'new');
    await etcd.put('/f3/added', 'yes');
    await etcd.compact();
    const w = watchRecorder(snapshot.values);
    b.watch(['/f3'], snapshot.cursor, w, stop.signal);
    await w.until('a full update', () => w.updates.length > 0);
    assert.deepEqual(w.updates[0], { kind: 'full', values: new Map([['/f3/added', 'yes'], ['/f3/changed', 'new']]) });
    await etcd.put('/f3/later', 'z');
    await w.until('a delta after the resync', () => w.view.get('/f3/later') === 'z');
    assert.equal(w.updates.at(-1)?.kind, 'delta');
    assert.deepEqual(w.statuses, []);
  });

  it('resyncs with a full update when history was compacted while it was cut off', async () => {
    const p = await proxy();
    const b = backendFor([p.address]);
    const w = await readAndWatch(b, ['/f4']);
    await etcd.put('/f4/stays', '1');
    await etcd.put('/f4/goes', '1');
    await w.until('both keys', () => w.view.size === 2);
    await p.pause('refuse');
    p.cut();
    await w.until('unreachable', () => states(w).includes('unreachable'));
    await etcd.delete('/f4/goes');
    await etcd.put('/f4/stays', '2');
    await etcd.compact();
    await p.resume();
    await w.until('ok and a full update', () => states(w).at(-1) === 'ok' && w.updates.some((u) => u.kind === 'full'));
    assert.deepEqual([...w.view], [['/f4/stays', '2']]);
    await live(w, '/f4/live');
    assert.deepEqual(states(w), ['unreachable', 'ok']);
  });

  it('resumes a catch-up cut off half-way from the last event it delivered, not the store revision', async () => {
    const p = await proxy();
    const b = backendFor([p.address]);
    const snapshot = await b.read(['/f5'], stop.signal);
    const writer = new Etcd3({ hosts: etcd.endpoint });
    try {
      for (let i = 0; i < 2500; i++) await writer.put(`/f5/k${i}`).value(String(i));
    } finally {
      writer.close();
    }
    let cut = false;
    const w = watchRecorder(snapshot.values);
    const recorder: WatchRecorder = Object.assign(Object.create(w) as WatchRecorder, {
      update(u: Parameters<WatchRecorder['update']>[0]) {
        w.update(u);
        // etcd sends a long history in batches of 1000 revisions, 100 ms apart: cut after the first.
        if (!cut) {
          cut = true;
          void p.pause('refuse').then(() => p.cut());
        }
      },
    });
    b.watch(['/f5'], snapshot.cursor, recorder, stop.signal);
    await w.until('unreachable after the first batch', () => states(w).includes('unreachable'));
    assert.ok(w.view.size < 2500, `the cut came too late to test anything (${w.view.size} keys already)`);
    await p.resume();
    await w.until('all 2500 keys', () => w.view.size === 2500);
    for (let i = 0; i < 2500; i++) assert.equal(w.view.get(`/f5/k${i}`), String(i));
    assert.ok(!w.updates.some((u) => u.kind === 'full'));
  });

  it('fails over to the next endpoint without reporting unreachable', async () => {
    const first = await proxy();
    const second = await proxy();
    const b = backendFor([first.address, second.address]);
    // Read elsewhere, so that the proxies only carry the watch.
    const snapshot = await backendFor([etcd.endpoint]).read(['/f6'], stop.signal);
    const w = watchRecorder(snapshot.values);
    b.watch(['/f6'], snapshot.cursor, w, stop.signal);
    await live(w, '/f6/live');
    assert.ok(first.connections > 0 && second.connections === 0, 'the watch starts on the first endpoint');
    await first.pause('refuse');
    first.cut();
    await etcd.put('/f6/after-failover', 'yes');
    await w.until('the put, through the second endpoint', () => w.view.get('/f6/after-failover') === 'yes');
    assert.ok(second.connections > 0);
    assert.deepEqual(w.statuses, []);
    // Reads fail over too (etcd3 picks endpoints in random order; each is tried once).
    for (let i = 0; i < 5; i++) assert.equal((await b.read(['/f6'], stop.signal)).values.get('/f6/after-failover'), 'yes');
  });

  it('skips a dead endpoint listed first', async () => {
    const b = backendFor(['127.0.0.1:1', etcd.endpoint]);
    const w = await readAndWatch(b, ['/f7']);
    await live(w, '/f7/live');
    assert.deepEqual(w.statuses, []);
  });

  it('notices a partition (connections stall, no reset) by keepalive, and resumes when it heals', async () => {
    const p = await proxy();
    const b = backendFor([p.address]);
    const w = await readAndWatch(b, ['/f8']);
    await live(w, '/f8/live');
    const started = Date.now();
    await p.pause('hang');
    await w.until('unreachable', () => states(w).includes('unreachable'), 10_000);
    const noticed = Date.now() - started;
    // Keepalive (1 s + 1 s unanswered) ends the stream; one immediate reconnection attempt hangs
    // until connectTimeoutMs (1.5 s); only then is etcd reported unreachable.
    assert.ok(noticed < 6000, `took ${noticed} ms to notice with a 1 s keepalive, 1 s timeout and 1.5 s connect timeout`);
    await etcd.put('/f8/during', 'A');
    await p.resume();
    await w.until('ok and the put made during the partition', () => states(w).at(-1) === 'ok' && w.view.get('/f8/during') === 'A');
    assert.deepEqual(states(w), ['unreachable', 'ok']);
  });

  it('notices a frozen etcd (SIGSTOP) and recovers when it runs again', async () => {
    const b = backendFor([etcd.endpoint]);
    const w = await readAndWatch(b, ['/f9']);
    await live(w, '/f9/live');
    await etcd.pause();
    try {
      await w.until('unreachable', () => states(w).includes('unreachable'), 10_000);
    } finally {
      await etcd.resume();
    }
    await w.until('ok again', () => states(w).at(-1) === 'ok');
    await live(w, '/f9/live');
    assert.deepEqual(states(w), ['unreachable', 'ok']);
  });
});

describe('etcd watch with a login across a restart', { skip }, () => {
  let etcd: EtcdServer;
  let backend: Backend;
  const stop = new AbortController();
  before(async () => {
    etcd = await startEtcd();
    await etcd.enableAuth('root', 'rootpw');
    backend = createEtcdBackend(etcdBackendOptions([etcd.endpoint], { username: 'root', password: 'rootpw' }), fast);
  });
  after(async () => {
    stop.abort();
    await backend?.close();
    await etcd?.stop();
  });

  it('logs in again after etcd forgot its token, and keeps delivering', async () => {
    await etcd.put('/auth/a', '1');
    const snapshot = await backend.read(['/auth'], stop.signal);
    const w = watchRecorder(snapshot.values);
    backend.watch(['/auth'], snapshot.cursor, w, stop.signal);
    await etcd.put('/auth/a', '2');
    await w.until('the first put', () => w.view.get('/auth/a') === '2');
    await etcd.kill();
    await w.until('unreachable', () => w.statuses.length > 0);
    await etcd.restart();
    await etcd.put('/auth/a', '3');
    await w.until('ok and the put after the restart', () => w.statuses.at(-1)?.state === 'ok' && w.view.get('/auth/a') === '3');
    assert.deepEqual(
      w.statuses.map((s) => s.state),
      ['unreachable', 'ok'],
    );
  });
});

describe('etcd backend close()', { skip }, () => {
  let etcd: EtcdServer;
  before(async () => {
    etcd = await startEtcd();
  });
  after(async () => {
    await etcd?.stop();
  });

  it('leaves nothing that keeps the process alive, with a live watch and one retrying', { timeout: 30_000 }, async () => {
    // The child reads, watches a live etcd and a dead address, closes the backends when told,
    // and must then exit on its own.
    const backendUrl = new URL('../../src/backends/etcd.ts', import.meta.url).href;
    const script = `
      const { createEtcdBackend } = await import(${JSON.stringify(backendUrl)});
      const opts = (nodes) => ({ nodes, scheme: 'http', files: [], tls: {}, env: {} });
      const tuning = { backoff: { initialMs: 100, maxMs: 200 } };
      const live = createEtcdBackend(opts([${JSON.stringify(etcd.endpoint)}]), tuning);
      const dead = createEtcdBackend(opts(['127.0.0.1:1']), tuning);
      const never = new AbortController().signal;
      const s = await live.read(['/close'], never);
      live.watch(['/close'], s.cursor, { status() {}, async update() {
        console.log('update');
        await Promise.all([live.close(), dead.close()]);
        console.log('closed');
      } }, never);
      dead.watch(['/close'], 0, { update() {}, status(st) { if (st.state === 'unreachable') console.log('dead is retrying'); } }, never);
      console.log('watching');
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const seen = (line: string): Promise<void> =>
      new Promise((resolve) => {
        const check = (): void => {
          if (out.includes(`${line}\n`)) resolve();
          else child.stdout.once('data', check);
        };
        check();
      });
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (out += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await Promise.race([Promise.all([seen('watching'), seen('dead is retrying')]), exited.then(() => assert.fail(`child exited early:\n${out}`))]);
      await etcd.put('/close/k', 'v');
      await seen('closed');
      const closedAt = Date.now();
      const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 5000).unref())]);
      assert.equal(code, 0, `the process did not exit by itself after close():\n${out}`);
      assert.ok(Date.now() - closedAt < 3000, `exit took ${Date.now() - closedAt} ms after close()`);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
