// The Consul backend's watch() when things go wrong: an agent that stops answering, one that
// refuses connections, fail-over to a second agent, a cluster without a leader, and answers
// without a usable X-Consul-Index.

import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Backend, BackendOptions, BackendStatus } from '../../src/backends/backend.ts';
import { createConsulBackend, type ConsulBackendTuning } from '../../src/backends/consul.ts';
import { startConsulDouble, type ConsulDouble, type RecordedRequest } from '../support/consul/double.ts';
import { recorder, isUpdate, isStatus } from '../support/watch-events.ts';
import { backendOptions } from '../support/backend-options.ts';

function options(nodes: string[]): BackendOptions {
  return backendOptions({ nodes });
}

const blocking = (r: RecordedRequest): boolean => r.path.startsWith('/v1/kv/') && r.query['index'] !== undefined;

let stop: AbortController;
let backend: Backend | undefined;
const doubles: ConsulDouble[] = [];

async function double(): Promise<ConsulDouble> {
  const d = await startConsulDouble({ blockingJitter: false });
  doubles.push(d);
  return d;
}

async function watching(nodes: string[], tuning: ConsulBackendTuning, keys: string[]) {
  backend = createConsulBackend(options(nodes), { backoff: { initialMs: 100, maxMs: 200 }, ...tuning });
  const snapshot = await backend.read(keys, stop.signal);
  const rec = recorder();
  backend.watch(keys, snapshot.cursor, rec.listener, stop.signal);
  return { snapshot, rec };
}

describe('consul watch() faults', () => {
  beforeEach(() => {
    stop = new AbortController();
  });
  afterEach(async () => {
    stop.abort();
    await backend?.close();
    backend = undefined;
    for (const d of doubles.splice(0)) await d.stop();
  });

  it('reports a paused agent as unreachable once, then ok and a full update with what changed meanwhile', async () => {
    const consul = await double();
    consul.put('app/k', 'before');
    // The deadline of a blocking query is wait + wait/16 + requestTimeout: ~725 ms here.
    const { rec } = await watching([consul.address], { waitMs: 400, requestTimeoutMs: 300 }, ['/app']);
    await consul.waitForParked(1);
    consul.pause();
    consul.put('app/k', 'during');
    const down = await rec.next('unreachable', isStatus);
    assert.equal((down as { status: BackendStatus }).status.state, 'unreachable');
    assert.match(JSON.stringify(down), /no answer within/);
    // Retries go on (and are held by the paused agent) without further reports.
    const mark = consul.requests().at(-1)?.seq ?? 0;
    await consul.waitForRequest((r) => r.seq > mark);
    await consul.waitForRequest((r) => r.seq > mark + 1);
    consul.resume();
    const up = await rec.next('ok', isStatus);
    assert.deepEqual(up, { status: { state: 'ok' } });
    const full = await rec.next('the full update', isUpdate);
    assert.deepEqual(full, { update: { kind: 'full', values: new Map([['/app/k', 'during']]) } });
    assert.deepEqual(
      rec.events.filter(isStatus).map((e) => e.status.state),
      ['unreachable', 'ok'],
    );
    assert.equal(rec.events.filter(isUpdate).length, 1, 'the held answer of the old query is not delivered');
  });

  it('reports an agent refusing connections, then catches up when it is back', async () => {
    const consul = await double();
    consul.put('app/k', 'before');
    const { rec } = await watching([consul.address], { waitMs: 30_000 }, ['/app']);
    await consul.waitForParked(1);
    await consul.refuseConnections();
    const down = await rec.next('unreachable', isStatus);
    assert.equal((down as { status: BackendStatus }).status.state, 'unreachable');
    consul.put('app/k', 'while away');
    consul.put('app/new', 'n');
    await consul.acceptConnections();
    await rec.next('ok', isStatus);
    const full = await rec.next('the full update', isUpdate);
    assert.deepEqual(full, { update: { kind: 'full', values: new Map([['/app/k', 'while away'], ['/app/new', 'n']]) } });
    await consul.waitForParked(1);
    consul.put('app/k', 'later');
    const delta = await rec.next('a later change', isUpdate);
    assert.deepEqual(delta, { update: { kind: 'delta', set: new Map([['/app/k', 'later']]), deleted: [] } });
    assert.deepEqual(rec.events.filter(isStatus).map((e) => e.status.state), ['unreachable', 'ok']);
  });

  it('fails over to the second agent, with the same index, when the first refuses connections', async () => {
    // Two agents of one datacenter see the same raft indexes: the doubles get the same writes.
    const first = await double();
    const second = await double();
    for (const d of [first, second]) {
      d.put('app/k', 'v1');
      d.put('app/other', 'o');
    }
    const { snapshot, rec } = await watching([first.address, second.address], { waitMs: 30_000 }, ['/app']);
    const index = (snapshot.cursor as { indexes: Map<string, number> }).indexes.get('/app');
    await first.waitForParked(1);
    assert.equal(second.requests().length, 0, 'the second agent is not used while the first answers');
    await first.refuseConnections();
    const moved = await second.waitForRequest(blocking);
    assert.equal(moved.query['index'], String(index));
    await second.waitForParked(1);
    second.put('app/k', 'v2');
    const delta = await rec.next('the change on the second agent', isUpdate);
    assert.deepEqual(delta, { update: { kind: 'delta', set: new Map([['/app/k', 'v2']]), deleted: [] } });
    assert.equal(rec.events.filter(isStatus).length, 0, 'no outage is reported while an agent answers');
    const again = await backend!.read(['/app'], stop.signal);
    assert.equal(again.values.get('/app/k'), 'v2', 'reads go to the agent that answers');
  });

  it('reports Consul errors (no cluster leader) and recovers when the leader is back', async () => {
    const consul = await double();
    consul.put('app/k', 'v');
    const { rec } = await watching([consul.address], { waitMs: 200, requestTimeoutMs: 2_000 }, ['/app']);
    await consul.waitForParked(1);
    consul.setLeader(false);
    const down = await rec.next('unreachable', isStatus);
    assert.match((down as { status: { error: string } }).status.error, /500 No cluster leader/);
    consul.setLeader(true);
    await rec.next('ok', isStatus);
    await rec.next('the full update', isUpdate);
  });
});

describe('consul answers without a usable X-Consul-Index', () => {
  let server: http.Server;
  afterEach(async () => {
    await backend?.close();
    backend = undefined;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  for (const header of [undefined, '0']) {
    it(`compares the data, never sends index 0 and paces its queries (X-Consul-Index: ${header ?? 'missing'})`, async () => {
      stop = new AbortController();
      let value = 'one';
      const requests: { at: number; index: string | null }[] = [];
      let changedSeenResolve = (): void => {};
      const changedSeen = new Promise<void>((resolve) => (changedSeenResolve = resolve));
      server = http.createServer((req, res) => {
        const url = new URL(req.url ?? '/', 'http://x');
        requests.push({ at: Date.now(), index: url.searchParams.get('index') });
        // A broken agent (or a proxy stripping headers) that answers at once, blocking never.
        const body = JSON.stringify([{ Key: 'app/k', Value: Buffer.from(value).toString('base64'), ModifyIndex: 5 }]);
        res.writeHead(200, { 'Content-Type': 'application/json', ...(header === undefined ? {} : { 'X-Consul-Index': header }) });
        res.end(body);
        if (requests.length === 3) value = 'two';
        if (requests.length === 8) changedSeenResolve();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
      const { rec } = await watching([address], { waitMs: 30_000 }, ['/app']);
      const delta = await rec.next('the change', isUpdate);
      assert.deepEqual(delta, { update: { kind: 'delta', set: new Map([['/app/k', 'two']]), deleted: [] } });
      await changedSeen;
      const watchRequests = requests.slice(1);
      assert.ok(watchRequests.every((r) => r.index === '1'), JSON.stringify(watchRequests));
      const gaps = watchRequests.slice(1).map((r, i) => r.at - (watchRequests[i] as { at: number }).at);
      assert.ok(Math.min(...gaps) >= 80, `requests are paced by the back-off: gaps ${gaps.join(', ')} ms`);
      assert.equal(rec.events.filter(isUpdate).length, 1);
      stop.abort();
    });
  }
});
