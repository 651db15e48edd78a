// The reload batcher on a manual clock: files written before its timer fires make one request
// per signal, a restart stands for every signal, reload_cmd runs instead of a signal, and
// CONFD_SYNC_ONLY asks for nothing.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createBus } from '../../src/core/bus.ts';
import type { Events } from '../../src/core/events.ts';
import { ConfigError } from '../../src/core/exit-codes.ts';
import type { ResourceOutcome } from '../../src/resources/pipeline.ts';
import type { TemplateResource } from '../../src/resources/resource.ts';
import { createReloadBatcher, runReloadCommandsOnce } from '../../src/resources/reload-batcher.ts';
import { recordingLogger, type Recorded } from '../support/logs.ts';
import { manualClock } from '../support/manual-clock.ts';
import { testResource } from '../support/test-resource.ts';

function harness(syncOnly = false) {
  const clock = manualClock();
  const bus = createBus(() => {});
  const logs: Recorded[] = [];
  const reloads: Events['app.reload'][] = [];
  const restarts: Events['app.restart'][] = [];
  bus.on('app.reload', (e) => reloads.push(e));
  bus.on('app.restart', (e) => restarts.push(e));
  const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin' };
  const batcher = createReloadBatcher({ bus, clock, log: recordingLogger(logs), env, commandTimeoutMs: 5000, syncOnly });
  return { clock, batcher, logs, reloads, restarts, env };
}

const hup = (name: string) => testResource(name);
const usr1 = (name: string) => testResource(name, { reload: { kind: 'signal', signal: 'SIGUSR1' } });
const restart = (name: string) => testResource(name, { reload: { kind: 'restart' } });

describe('reload batcher', () => {
  it('turns files written before its timer fires into one reload per signal', async () => {
    const h = harness();
    await h.batcher.written(hup('a'));
    await h.batcher.written(usr1('b'));
    await h.batcher.written(hup('c'));
    assert.deepEqual(h.reloads, [], 'nothing before the timer');
    h.clock.advance(0);
    assert.deepEqual(h.reloads, [
      { signal: 'SIGHUP', reason: 'changed: /out/a, /out/c' },
      { signal: 'SIGUSR1', reason: 'changed: /out/b' },
    ]);
    await h.batcher.written(hup('a'));
    h.clock.advance(0);
    assert.equal(h.reloads.length, 3, 'a later file is a new batch');
    assert.equal(h.clock.pending, 0);
  });

  it('asks for one restart instead of any signal when one file wants a restart', async () => {
    const h = harness();
    await h.batcher.written(hup('a'));
    await h.batcher.written(restart('b'));
    h.clock.advance(0);
    assert.deepEqual(h.restarts, [{ reason: 'changed: /out/b, /out/a' }]);
    assert.deepEqual(h.reloads, []);
  });

  it('runs reload_cmd instead of a signal, and asks nothing for reload = "none"', async () => {
    const h = harness();
    const dir = mkdtempSync(join(tmpdir(), 'steward-batcher-'));
    await h.batcher.written(testResource('a', { reloadCmd: `echo ran >> ${dir}/marker` }));
    await h.batcher.written(testResource('b', { reload: { kind: 'none' } }));
    await h.batcher.written(testResource('c', { reloadCmd: 'exit 3' }));
    assert.equal(h.clock.pending, 0);
    assert.equal(readFileSync(join(dir, 'marker'), 'utf8'), 'ran\n');
    assert.deepEqual(h.reloads, []);
    assert.ok(h.logs.some((l) => l.level === 'error' && /^reload_cmd failed \(exit status 3\)$/.test(l.msg) && l.fields['resource'] === 'c'));
  });

  it('asks for nothing with CONFD_SYNC_ONLY', async () => {
    const h = harness(true);
    await h.batcher.written(hup('a'));
    await h.batcher.written(testResource('b', { reloadCmd: 'exit 1' }));
    h.clock.advance(0);
    assert.deepEqual(h.reloads, []);
    assert.deepEqual(h.logs, []);
  });

  it('--once runs the reload_cmd of written files only, and a failure is a ConfigError', async () => {
    const h = harness();
    const dir = mkdtempSync(join(tmpdir(), 'steward-batcher-'));
    const ran = testResource('ran', { reloadCmd: `echo ran >> ${dir}/marker` });
    const unchanged = testResource('unchanged', { reloadCmd: `echo unchanged >> ${dir}/marker` });
    const written: ResourceOutcome = { kind: 'written', differences: ['content'], inPlace: false };
    await runReloadCommandsOnce(new Map<TemplateResource, ResourceOutcome>([
        [ran, written],
        [unchanged, { kind: 'unchanged' }],
      ]), { log: recordingLogger(), env: h.env, commandTimeoutMs: 5000, syncOnly: false });
    assert.equal(readFileSync(join(dir, 'marker'), 'utf8'), 'ran\n');
    const failing = testResource('failing', { reloadCmd: 'echo broken; exit 2' });
    await assert.rejects(
      runReloadCommandsOnce(new Map([[failing, written]]), { log: recordingLogger(), env: h.env, commandTimeoutMs: 5000, syncOnly: false }),
      (e: unknown) => e instanceof ConfigError && e.message === 'failing: reload_cmd failed (exit status 2): broken',
    );
  });
});
