// Which process a changed resource reloads (reload_process): the batcher on a manual clock asks
// the app or the named sidecars, with the resource's own signal, the sidecar's own reload signal
// when the resource sets none, or a restart; and the TOML fields as load-resources reads them.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createBus } from '../../src/core/bus.ts';
import { loadResource } from '../../src/resources/load-resources.ts';
import { createReloadBatcher } from '../../src/resources/reload-batcher.ts';
import { makeConfdir } from '../support/confdir.ts';
import { recordingLogger } from '../support/logs.ts';
import { manualClock } from '../support/manual-clock.ts';
import { testResource } from '../support/test-resource.ts';

function harness() {
  const clock = manualClock();
  const bus = createBus(() => {});
  const seen: string[] = [];
  bus.on('app.reload', (e) => seen.push(`reload app ${e.signal}`));
  bus.on('app.restart', () => seen.push('restart app'));
  bus.on('process.reload', (e) => seen.push(`reload ${e.name} ${e.signal ?? 'own'}`));
  bus.on('process.restart', (e) => seen.push(`restart ${e.name}`));
  const batcher = createReloadBatcher({ bus, clock, log: recordingLogger(), env: {}, commandTimeoutMs: 5000, syncOnly: false });
  return { clock, batcher, seen };
}

describe('reload_process', () => {
  it('sends the resource\'s signal to the named sidecar, not to the app', async () => {
    const h = harness();
    await h.batcher.written(testResource('lb', { reload: { kind: 'signal', signal: 'SIGUSR2' }, reloadProcesses: { names: ['haproxy'], ownSignal: false } }));
    h.clock.advance(0);
    assert.deepEqual(h.seen, ['reload haproxy SIGUSR2']);
  });

  it('leaves the signal to the sidecar when the resource sets no reload', async () => {
    const h = harness();
    await h.batcher.written(testResource('lb', { reloadProcesses: { names: ['haproxy', 'app'], ownSignal: true } }));
    h.clock.advance(0);
    assert.deepEqual(h.seen.sort(), ['reload app SIGHUP', 'reload haproxy own']);
  });

  it('restarts the named sidecar once for a batch, the app untouched', async () => {
    const h = harness();
    await h.batcher.written(testResource('a', { reload: { kind: 'restart' }, reloadProcesses: { names: ['worker'], ownSignal: false } }));
    await h.batcher.written(testResource('b', { reloadProcesses: { names: ['worker'], ownSignal: true } }));
    await h.batcher.written(testResource('c'));
    h.clock.advance(0);
    assert.deepEqual(h.seen.sort(), ['reload app SIGHUP', 'restart worker']);
  });

  it('reads reload_process as a name or a list; a bad name is a configuration error', () => {
    const c = makeConfdir(
      {
        'one.toml': '[template]\nsrc = "t"\ndest = "$OUT/one"\nreload_process = "HAProxy"\n',
        'two.toml': '[template]\nsrc = "t"\ndest = "$OUT/two"\nreload = "SIGUSR2"\nreload_process = ["haproxy", "app"]\n',
        'bad.toml': '[template]\nsrc = "t"\ndest = "$OUT/bad"\nreload_process = "no such"\n',
      },
      { t: 'x\n' },
    );
    const options = { confdir: c.dir, prefix: undefined, log: recordingLogger() };
    assert.deepEqual(loadResource(`${c.dir}/conf.d/one.toml`, options).reloadProcesses, { names: ['haproxy'], ownSignal: true });
    assert.deepEqual(loadResource(`${c.dir}/conf.d/two.toml`, options).reloadProcesses, { names: ['haproxy', 'app'], ownSignal: false });
    assert.equal(loadResource(`${c.dir}/conf.d/two.toml`, options).reload.kind, 'signal');
    assert.throws(() => loadResource(`${c.dir}/conf.d/bad.toml`, options), /invalid reload_process/);
  });
});
