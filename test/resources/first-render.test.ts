// Start-up on a manual clock: the app waits until every resource has a good outcome, missing
// keys are reported every 5 s and given up on at the config timeout, and the first failure
// stops the start before any later resource renders.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BackendStatus } from '../../src/backends/backend.ts';
import { ConfigError, UnavailableError } from '../../src/core/exit-codes.ts';
import { createWakeup, renderFirst, takeStartUpOutcome } from '../../src/resources/first-render.ts';
import type { ResourceOutcome } from '../../src/resources/pipeline.ts';
import { createRenderQueue } from '../../src/resources/render-queue.ts';
import type { TemplateResource } from '../../src/resources/resource.ts';
import { recordingLogger, type Recorded } from '../support/logs.ts';
import { manualClock } from '../support/manual-clock.ts';
import { testResource } from '../support/test-resource.ts';

const a = testResource('a');
const b = testResource('b');
const c = testResource('c');

function harness(resources: readonly TemplateResource[], outcomes: Map<TemplateResource, ResourceOutcome>, timeoutMs = 12_000) {
  const clock = manualClock();
  const logs: Recorded[] = [];
  const log = recordingLogger(logs);
  const rendered: string[] = [];
  let status: BackendStatus = { state: 'ok' };
  const queue = createRenderQueue({
    resources,
    clock,
    log,
    waitOf: () => ({ minMs: 100, maxMs: 1000 }),
    render: async (r) => {
      rendered.push(r.name);
      return outcomes.get(r) ?? { kind: 'unchanged' };
    },
    onOutcome: (r, outcome) => takeStartUpOutcome(r, outcome, queue, log),
  });
  const wakeup = createWakeup(clock);
  const store = () => ({ name: 'memory', source: 'test', status });
  const abort = new AbortController();
  const done = renderFirst({ queue, wakeup, clock, log, deadline: timeoutMs, configTimeoutMs: timeoutMs, store }, abort.signal);
  return {
    queue,
    clock,
    logs,
    rendered,
    wakeup,
    done,
    abort,
    setStatus: (next: BackendStatus) => {
      status = next;
    },
  };
}

const missing = (key: string): ResourceOutcome => ({ kind: 'missing-key', key, message: `key ${key} not found` });

describe('first render', () => {
  it('resolves with each resource\'s outcome when all are good, without a timer', async () => {
    const written: ResourceOutcome = { kind: 'written', differences: ['created'], inPlace: false };
    const h = harness([a, b], new Map([[a, written]]));
    const outcomes = await h.done;
    assert.deepEqual([...outcomes], [
      [a, written],
      [b, { kind: 'unchanged' }],
    ]);
    assert.deepEqual(h.rendered, ['a', 'b']);
    assert.equal(h.clock.pending, 0);
    assert.ok(h.logs.some((l) => l.msg === 'wrote /out/a'));
  });

  it('waits for a missing key, reports it every 5 s, and goes on when woken with the key there', async () => {
    const outcomes = new Map([[b, missing('/b/host')]]);
    const h = harness([a, b], outcomes);
    await h.clock.armed();
    assert.deepEqual(h.logs.filter((l) => l.level === 'warn'), [], 'no report before 5 s');
    h.clock.advance(5000);
    await h.clock.armed();
    const reports = h.logs.filter((l) => l.level === 'warn');
    assert.deepEqual(reports.map((l) => [l.msg, l.fields['resources']]), [['waiting for keys: /b/host', ['b']]]);
    assert.deepEqual(h.rendered, ['a', 'b', 'b'], 'a missing resource renders again on each wake');
    outcomes.delete(b);
    h.wakeup.fire();
    await h.done;
    assert.deepEqual(h.rendered, ['a', 'b', 'b', 'b']);
    assert.equal(h.clock.pending, 0);
  });

  it('gives up at the config timeout with a ConfigError naming the keys', async () => {
    const h = harness([a, b, c], new Map([[a, missing('/a/x')], [c, missing('/c/y')]]), 7000);
    const rejected = assert.rejects(h.done, (e: unknown) => e instanceof ConfigError && e.message === 'keys still missing after 7s (STEWARD_CONFIG_TIMEOUT): /a/x, /c/y');
    await h.clock.armed();
    h.clock.advance(5000);
    await h.clock.armed();
    h.clock.advance(2000);
    await rejected;
  });

  it('gives up with an UnavailableError when the store is unreachable at the timeout', async () => {
    const h = harness([a], new Map([[a, missing('/a/x')]]), 3000);
    h.setStatus({ state: 'unreachable', error: 'connection refused', retryInMs: 100 });
    const rejected = assert.rejects(h.done, (e: unknown) => e instanceof UnavailableError && /the memory backend at test is unreachable \(connection refused\); still missing after 3s: \/a\/x/.test(e.message));
    await h.clock.armed();
    h.clock.advance(3000);
    await rejected;
  });

  it('stops at the first failure, and nothing renders after it', async () => {
    const h = harness([a, b, c], new Map<TemplateResource, ResourceOutcome>([[b, { kind: 'check-failed', message: 'check_cmd failed (exit status 1)', output: 'bad\nline', digest: '' }]]));
    await assert.rejects(h.done, (e: unknown) => e instanceof ConfigError && e.message === 'b: check_cmd failed (exit status 1) for /out/b: bad | line');
    h.queue.changed(c);
    await h.queue.idle();
    assert.deepEqual(h.rendered, ['a', 'b'], 'nothing renders after the failure, not even on a change');
  });

  it('returns what it has when steward stops while it waits', async () => {
    const h = harness([a, b], new Map([[b, missing('/b/x')]]));
    await h.clock.armed();
    h.abort.abort();
    const outcomes = await h.done;
    assert.deepEqual([...outcomes.keys()], [a]);
    assert.equal(h.clock.pending, 0);
  });
});
