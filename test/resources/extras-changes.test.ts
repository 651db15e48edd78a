// role(), hasLock() and the like change with bus events, not with keys: a change re-renders the
// templates that call one of the functions tied to the event, and only those (as far as the
// engine can tell from the compiled template).

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseArgv } from '../../src/config/argv.ts';
import { resolveSettings } from '../../src/config/settings.ts';
import { createBus } from '../../src/core/bus.ts';
import { systemClock } from '../../src/core/clock.ts';
import { loadResources } from '../../src/resources/load-resources.ts';
import { createTemplatesPart } from '../../src/resources/templates-part.ts';
import { recordingLogger, type Recorded } from '../support/logs.ts';
import { memoryBackend } from '../support/memory-backend.ts';

const ROLE_TEMPLATE = 'role={{ role }}\n';
const PLAIN_TEMPLATE = 'host={{ getv "/app/host" }}\n';

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'steward-extras-'));
  const out = join(dir, 'out');
  for (const sub of ['conf.d', 'templates', 'out']) mkdirSync(join(dir, sub));
  writeFileSync(join(dir, 'conf.d', 'role.toml'), `[template]\nsrc = "role.tmpl"\ndest = "${out}/role"\nkeys = ["/app"]\n`);
  writeFileSync(join(dir, 'conf.d', 'plain.toml'), `[template]\nsrc = "plain.tmpl"\ndest = "${out}/plain"\nkeys = ["/app"]\n`);
  writeFileSync(join(dir, 'templates', 'role.tmpl'), ROLE_TEMPLATE);
  writeFileSync(join(dir, 'templates', 'plain.tmpl'), PLAIN_TEMPLATE);
  const env = { STEWARD_WAIT: '0' };
  const { settings } = resolveSettings(parseArgv([]), env);
  const logs: Recorded[] = [];
  const log = recordingLogger(logs);
  const bus = createBus(() => {});
  let role = 'follower';
  const backend = memoryBackend({ '/app/host': 'db1' });
  const part = createTemplatesPart({
    settings,
    env,
    resources: loadResources({ confdir: dir, prefix: undefined, log }),
    bus,
    log,
    clock: systemClock(),
    backend,
    extras: { role: () => role },
    extrasChangeOn: [{ functions: ['role'], events: ['role.changed'] }],
  });
  await part.prepare?.(new AbortController().signal);
  await part.run?.();
  return {
    logs,
    read: (name: string) => readFileSync(join(out, name), 'utf8'),
    async becomeLeader() {
      role = 'leader';
      const reload = bus.next('app.reload');
      bus.emit('role.changed', { role: 'leader', leader: 'me', fencingToken: '1', reason: 'test' });
      await reload;
    },
    async changeHost(host: string) {
      const reload = bus.next('app.reload');
      backend.set('/app/host', host);
      await reload;
    },
    stop: () => part.stop?.({ deadline: systemClock().monotonic() + 2000, reason: 'test' }),
  };
}

/** Live renders of `resource` so far: each logs either an update or "no change". */
function rendersOf(logs: readonly Recorded[], resource: string): number {
  return logs.filter((l) => l.fields['resource'] === resource && (l.msg === 'rendered; no change' || l.msg.startsWith('updated '))).length;
}

describe('templates that call role() and the like', () => {
  it('render again when the role changes', async () => {
    const f = await setup();
    assert.equal(f.read('role'), 'role=follower\n');
    await f.becomeLeader();
    assert.equal(f.read('role'), 'role=leader\n');
    await f.stop();
  });

  it('are the only ones that render again, since the engine lists what a template calls', async () => {
    const f = await setup();
    await f.becomeLeader();
    // A resource renders its changes in order: had the role change made the plain template
    // render, that render would be over before the one of this key change.
    await f.changeHost('db2');
    assert.equal(f.read('plain'), 'host=db2\n');
    assert.equal(rendersOf(f.logs, 'plain.toml'), 1);
    await f.stop();
  });
});
