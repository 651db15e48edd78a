// Templates that are not shown to stay small render in a worker thread: the main thread stays free while one runs away, and a
// render over its time or output limit, one that a stop overtakes and one whose thread dies all
// end as a failed render, with no stage file left behind.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { systemClock } from '../../src/core/clock.ts';
import { snapshotExtras, type EngineName, type ExtraAnswer } from '../../src/render/index.ts';
import { createRenderWorker, tooBigMessage, type RenderWorkerOptions } from '../../src/resources/render-worker.ts';
import { stagePathFor } from '../../src/resources/stage-and-swap.ts';
import { longestBusy } from '../support/main-thread-busy.ts';

const RUNAWAY_NUNJUCKS = '{% for i in range(0, 1000000000) %}{% endfor %}done\n';

function fixture(engine: EngineName, text: string, values: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'steward-render-worker-'));
  const src = join(dir, 't.tmpl');
  writeFileSync(src, text);
  const dest = join(dir, 'out.conf');
  const stagePath = stagePathFor(dest);
  return {
    dir,
    dest,
    stagePath,
    job: {
      template: { path: src, engine, text: undefined },
      values: Object.entries(values),
      env: {},
      extras: {},
      desired: { dest, mode: 0o640, uid: undefined, gid: undefined },
      stagePath,
      rejectedDigest: undefined,
    },
  };
}

function worker(options: Partial<RenderWorkerOptions> = {}) {
  return createRenderWorker({ timeoutMs: 10_000, maxBytes: 64 * 1024 * 1024, extraNames: [], clock: systemClock(), ...options });
}

/**
 * A thread that has started. Loading the thread's TypeScript sources (type stripping, in tests
 * only: steward runs dist/'s JavaScript) stalls this thread for up to ~300 ms on a loaded machine;
 * the same start from dist/ showed no stall over 20 ms. The stall measured is the render's.
 */
async function warmUp(w: ReturnType<typeof worker>): Promise<void> {
  const f = fixture('nunjucks', 'warm\n');
  assert.equal((await w.run(f.job, new AbortController().signal)).kind, 'staged');
}

describe('the render worker', () => {
  it('stages a changed output with its mode, and stages nothing when the file already is that', async () => {
    const f = fixture('go', 'host={{ getv "/host" }}\n', { '/host': 'db1' });
    const w = worker();
    try {
      const first = await w.run(f.job, new AbortController().signal);
      assert.equal(first.kind, 'staged');
      assert.equal(readFileSync(f.stagePath, 'utf8'), 'host=db1\n');
      assert.equal(statSync(f.stagePath).mode & 0o777, 0o640);
      renameSync(f.stagePath, f.dest);
      const second = await w.run({ ...f.job, stagePath: stagePathFor(f.dest) }, new AbortController().signal);
      assert.equal(second.kind, 'unchanged');
      assert.deepEqual(readdirSync(f.dir).sort(), ['out.conf', 't.tmpl']);
    } finally {
      await w.close();
    }
  });

  it('gives the template steward\'s functions as they answered when the render started, and DNS', async () => {
    const f = fixture('go', '{{ role }} {{ hasLock "/locks/a" }} {{ hasLock "/locks/b" }} {{ range lookupIP "localhost" }}{{ if eq . "127.0.0.1" }}{{ . }}{{ end }}{{ end }}\n');
    const w = worker({ extraNames: ['role', 'hasLock'] });
    try {
      const extras = snapshotExtras({
        role: () => 'leader',
        hasLock: Object.assign((path: unknown) => path === '/locks/a', {
          snapshot: (): ExtraAnswer => ({ kind: 'by-path', answers: { '/locks/a': true }, otherwise: false }),
        }),
      });
      assert.equal((await w.run({ ...f.job, extras }, new AbortController().signal)).kind, 'staged');
      assert.equal(readFileSync(f.stagePath, 'utf8'), 'leader true false 127.0.0.1\n');
    } finally {
      await w.close();
    }
  });

  it('stops a render over STEWARD_RENDER_TIMEOUT, and the main thread never waits for it', async () => {
    const f = fixture('nunjucks', RUNAWAY_NUNJUCKS);
    const w = worker({ timeoutMs: 300 });
    try {
      await warmUp(w);
      const started = performance.now();
      const { result, busyMs } = await longestBusy(w.run(f.job, new AbortController().signal));
      assert.deepEqual(result, { kind: 'killed', message: 'the render took longer than STEWARD_RENDER_TIMEOUT (300ms)' });
      assert.ok(performance.now() - started < 5000, 'stopped near its limit');
      assert.ok(busyMs < 50, `the main thread was busy for ${busyMs.toFixed(1)} ms at a time`);
      assert.equal(existsSync(f.stagePath), false);
    } finally {
      await w.close();
    }
  });

  it('refuses an output over STEWARD_RENDER_MAX_BYTES, writing nothing', async () => {
    const f = fixture('go', '{{ range seq 1 3000 }}xx{{ end }}');
    const w = worker({ maxBytes: 5000 });
    try {
      const result = await w.run(f.job, new AbortController().signal);
      assert.deepEqual(result, { kind: 'killed', message: tooBigMessage(5000) });
      assert.equal(existsSync(f.stagePath), false);
      // A fresh thread takes the next render.
      const small = fixture('go', 'ok\n');
      assert.equal((await w.run(small.job, new AbortController().signal)).kind, 'staged');
    } finally {
      await w.close();
    }
  });

  it('abandons a render when its signal aborts (a stop), at once and without a stage file', async () => {
    const f = fixture('nunjucks', RUNAWAY_NUNJUCKS);
    const w = worker();
    try {
      await warmUp(w);
      const stop = new AbortController();
      const running = w.run(f.job, stop.signal);
      // The render is under way once the thread has had time to start it; the abort ends it either way.
      setTimeout(() => stop.abort(), 200);
      const started = performance.now();
      const { result, busyMs } = await longestBusy(running);
      assert.deepEqual(result, { kind: 'stopped' });
      assert.ok(performance.now() - started < 5000);
      assert.ok(busyMs < 50, `the main thread was busy for ${busyMs.toFixed(1)} ms at a time`);
      assert.equal(existsSync(f.stagePath), false);
    } finally {
      await w.close();
    }
  });

  it('refuses a nunjucks output over STEWARD_RENDER_MAX_BYTES once it is done, writing nothing', async () => {
    const f = fixture('nunjucks', '{% for i in range(0, 3000) %}xx{% endfor %}');
    const w = worker({ maxBytes: 5000 });
    try {
      assert.deepEqual(await w.run(f.job, new AbortController().signal), { kind: 'killed', message: tooBigMessage(5000) });
      assert.equal(existsSync(f.stagePath), false);
    } finally {
      await w.close();
    }
  });

  it('turns a thread that dies (here: out of memory) into a failed render, and renders again after it', async () => {
    const f = fixture('nunjucks', '{% set a = [] %}{% for i in range(0, 100000000) %}{% set n = a.push("item " ~ i) %}{% endfor %}{{ a | length }}');
    // 1 MB of output allows the thread 70 MB of heap. The time limit is out of the way: filling
    // 70 MB took over 10 s on a loaded machine, and this test is about the memory limit.
    const w = worker({ maxBytes: 1024 * 1024, timeoutMs: 120_000 });
    try {
      const result = await w.run(f.job, new AbortController().signal);
      assert.deepEqual(result, { kind: 'killed', message: 'the render ran out of memory (the render thread may use 70 MB, set from STEWARD_RENDER_MAX_BYTES)' });
      assert.equal(existsSync(f.stagePath), false);
      const small = fixture('nunjucks', 'ok\n');
      assert.equal((await w.run(small.job, new AbortController().signal)).kind, 'staged');
    } finally {
      await w.close();
    }
  });
});
