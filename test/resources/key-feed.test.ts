// The key feed against an in-memory store on a manual clock: what reaches the key cache, which
// keys it reports as changed, the store's health, re-syncs on CONFD_INTERVAL, and a new key set.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Backend, BackendStatus } from '../../src/backends/backend.ts';
import { UnavailableError } from '../../src/core/exit-codes.ts';
import { KeyCache } from '../../src/resources/key-cache.ts';
import { createKeyFeed } from '../../src/resources/key-feed.ts';
import { recordingLogger, type Recorded } from '../support/logs.ts';
import { manualClock } from '../support/manual-clock.ts';
import { memoryBackend } from '../support/memory-backend.ts';

function harness(options: { backend?: Backend; openBackend?: () => Promise<Backend> }) {
  const clock = manualClock();
  const cache = new KeyCache();
  const logs: Recorded[] = [];
  const changes: string[][] = [];
  const statuses: BackendStatus[] = [];
  let heard: (() => void) | undefined;
  const feed = createKeyFeed({
    cache,
    clock,
    log: recordingLogger(logs),
    backend: options.backend,
    openBackend: options.openBackend,
    configTimeoutMs: 2000,
    onChange: (keys) => {
      changes.push([...keys]);
      heard?.();
    },
    onStatus: (s) => statuses.push(s),
  });
  return {
    clock,
    cache,
    logs,
    changes,
    statuses,
    feed,
    /** Resolves at the next change the feed reports. */
    nextChange: () => new Promise<void>((resolve) => (heard = resolve)),
  };
}

describe('key feed', () => {
  it('reads the keys into the cache, then reports each change the watch brings', async () => {
    const store = memoryBackend({ '/app/host': 'db1', '/other/x': '1' });
    const h = harness({ backend: store });
    await h.feed.open(['/app']);
    await h.feed.start(h.clock.monotonic() + 2000, new AbortController().signal);
    assert.deepEqual([...h.cache.entries()], [['/app/host', 'db1']]);
    store.set('/app/host', 'db2');
    store.set('/app/host', 'db2');
    assert.deepEqual(h.changes, [['/app/host']], 'a value set again is no change');
    assert.equal(h.cache.get('/app/host'), 'db2');
    assert.equal(h.clock.pending, 0, 'the read released its deadline');
    await h.feed.close();
  });

  it('fails with an UnavailableError naming the store when it cannot be read by the deadline', async () => {
    const store = memoryBackend();
    store.setReachable(false);
    const h = harness({ backend: store });
    await h.feed.open(['/app']);
    await assert.rejects(
      h.feed.start(h.clock.monotonic(), new AbortController().signal),
      (e: unknown) => e instanceof UnavailableError && e.message === 'cannot reach the memory backend at memory within 2s: connection refused',
    );
  });

  it('reports the store going away and coming back, and what changed meanwhile', async () => {
    const store = memoryBackend({ '/app/host': 'db1' });
    const h = harness({ backend: store });
    await h.feed.open(['/app']);
    await h.feed.start(h.clock.monotonic() + 2000, new AbortController().signal);
    store.setReachable(false);
    assert.deepEqual(h.feed.status, { state: 'unreachable', error: 'connection refused', retryInMs: 100 });
    assert.ok(h.logs.some((l) => l.level === 'warn' && l.msg === 'memory unreachable; the app keeps its last good files'));
    store.values.set('/app/host', 'db2');
    store.setReachable(true);
    assert.deepEqual(h.statuses.map((s) => s.state), ['unreachable', 'ok']);
    assert.deepEqual(h.changes, [['/app/host']]);
    await h.feed.close();
  });

  it('re-reads every interval, reporting what the watch did not bring', async () => {
    const store = memoryBackend({ '/app/host': 'db1' });
    const h = harness({ backend: store });
    await h.feed.open(['/app']);
    await h.feed.start(h.clock.monotonic() + 2000, new AbortController().signal);
    h.feed.resyncEvery(1000);
    store.values.set('/app/host', 'db2');
    const reads = store.reads;
    h.clock.advance(999);
    assert.equal(store.reads, reads);
    const changed = h.nextChange();
    h.clock.advance(1);
    await changed;
    assert.deepEqual(h.changes, [['/app/host']]);
    assert.equal(h.cache.get('/app/host'), 'db2');
    h.feed.stop();
    h.clock.advance(5000);
    assert.equal(store.reads, reads + 1, 'no re-sync after stop');
    await h.feed.close();
  });

  it('opens the real store when resources that read no keys are replaced by some that do', async () => {
    const store = memoryBackend({ '/app/host': 'db1' });
    let opened = 0;
    const h = harness({
      openBackend: async () => {
        opened++;
        return store;
      },
    });
    const none = await h.feed.open([]);
    assert.equal(none.name, 'none');
    await h.feed.start(h.clock.monotonic() + 2000, new AbortController().signal);
    await h.feed.rekey(['/app']);
    assert.equal(opened, 1);
    assert.equal(h.feed.backend, store);
    assert.equal(h.cache.get('/app/host'), 'db1');
    store.set('/app/host', 'db2');
    assert.deepEqual(h.changes.at(-1), ['/app/host']);
    await h.feed.close();
  });
});
