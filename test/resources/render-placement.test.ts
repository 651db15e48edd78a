// Where a render runs: a Go template renders on the main thread in a slice it cannot overrun,
// and one that would overrun it is cut off and done in the render thread; nunjucks always
// renders in the thread. Either way the main thread is never busy for 50 ms with a render.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { systemClock } from '../../src/core/clock.ts';
import { loadGoEngine, type CompiledTemplate } from '../../src/render/index.ts';
import { KeyCache } from '../../src/resources/key-cache.ts';
import { processResource, type PipelineContext } from '../../src/resources/pipeline.ts';
import { createPlacement } from '../../src/resources/render-placement.ts';
import { createRenderWorker, tooBigMessage } from '../../src/resources/render-worker.ts';
import { longestBusy } from '../support/main-thread-busy.ts';
import { recordingLogger } from '../support/logs.ts';
import { testResource } from '../support/test-resource.ts';

// Three ranges over a value of 1,000 items: 10^9 iterations, from a 2 KB value.
const RUNAWAY = '{{ $l := split (getv "/app/list") "," }}{{ range $l }}{{ range $l }}{{ range $l }}{{ end }}{{ end }}{{ end }}done\n';

function setup(text: string, values: Record<string, string>, limits: { timeoutMs?: number; maxBytes?: number } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'steward-placement-'));
  const r = testResource('app', { dest: join(dir, 'app.conf'), templateText: text, keys: ['/app'], backendKeys: ['/app'] });
  const cache = new KeyCache();
  cache.apply({ kind: 'full', values: new Map(Object.entries(values)) });
  const maxBytes = limits.maxBytes ?? 64 * 1024 * 1024;
  const worker = createRenderWorker({ timeoutMs: limits.timeoutMs ?? 10_000, maxBytes, extraNames: [], clock: systemClock() });
  const ctx: PipelineContext = {
    cache,
    covers: (requested, key) => key === requested || key.startsWith(`${requested}/`),
    prefixIndexed: true,
    env: {},
    extras: {},
    commandTimeoutMs: 5000,
    keepStageFile: false,
    syncOnly: false,
    noop: false,
    log: recordingLogger(),
    renderer: { worker, placement: createPlacement(systemClock()), maxBytes, signal: new AbortController().signal },
  };
  return { r, ctx, worker };
}

async function compiled(text: string): Promise<CompiledTemplate> {
  return (await loadGoEngine()).compile('app.tmpl', text);
}

describe('where a render runs', () => {
  it('a small Go template renders on the main thread: the render thread never starts', async () => {
    const text = 'host={{ getv "/app/host" }}\n';
    const { r, ctx, worker } = setup(text, { '/app/host': 'db1' });
    try {
      assert.equal((await processResource(r, await compiled(text), ctx)).kind, 'written');
      assert.equal(readFileSync(r.dest, 'utf8'), 'host=db1\n');
      assert.equal(worker.running, false);
    } finally {
      await worker.close();
    }
  });

  it('an output over STEWARD_RENDER_MAX_BYTES is refused as it grows on the main thread', async () => {
    const text = '{{ range split (getv "/app/list") "," }}xxxxxxxxxx{{ end }}';
    const { r, ctx, worker } = setup(text, { '/app/list': Array(1000).fill('a').join(',') }, { maxBytes: 5000 });
    try {
      assert.deepEqual(await processResource(r, await compiled(text), ctx), { kind: 'render-failed', message: tooBigMessage(5000) });
      assert.equal(worker.running, false);
    } finally {
      await worker.close();
    }
  });

  it('a Go template that runs away is cut off on the main thread and ends in the thread, at STEWARD_RENDER_TIMEOUT', async () => {
    const { r, ctx, worker } = setup(RUNAWAY, { '/app/list': Array(1000).fill('a').join(',') }, { timeoutMs: 500 });
    try {
      const template = await compiled(RUNAWAY);
      const { result, busyMs } = await longestBusy(processResource(r, template, ctx));
      assert.deepEqual(result, { kind: 'render-failed', message: 'the render took longer than STEWARD_RENDER_TIMEOUT (500ms)' });
      assert.ok(busyMs < 50, `the main thread was busy for ${busyMs.toFixed(1)} ms at a time`);
      // Cut off once, the resource goes to the thread directly for a while.
      assert.equal(ctx.renderer.placement.inline(r, template, new Map([['/list', 'a']])), false);
    } finally {
      await worker.close();
    }
  });

  it('a nunjucks template renders in the thread', async () => {
    const text = 'host={{ getv("/app/host") }}\n';
    const { r, ctx, worker } = setup(text, { '/app/host': 'db1' });
    const nunjucks = { ...r, engine: 'nunjucks' as const };
    try {
      const template = { render: () => assert.fail('rendered on the main thread'), encoding: 'utf8', calls: undefined } as unknown as CompiledTemplate;
      assert.equal((await processResource(nunjucks, template, ctx)).kind, 'written');
      assert.equal(readFileSync(r.dest, 'utf8'), 'host=db1\n');
      assert.equal(worker.running, true);
    } finally {
      await worker.close();
    }
  });
});
