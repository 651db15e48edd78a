// reload_process end to end with the file backend: a changed resource signals the sidecar it
// names (with the sidecar's own reload signal when the resource sets none), or restarts it,
// and the app hears nothing.

import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { makeConfdir } from '../support/confdir.ts';
import { APP, NODE, ROOT, logRecords, startSteward, stopAllStewards } from '../support/steward.ts';
import { until } from '../support/until.ts';

afterEach(stopAllStewards);

const SIDECAR = join(ROOT, 'test', 'processes', 'fixtures', 'sidecar.mjs');

function setup(reloadLines: string) {
  const c = makeConfdir(
    { 'side.toml': `[template]\nsrc = "side.tmpl"\ndest = "$OUT/side.conf"\nkeys = ["/side"]\n${reloadLines}` },
    { 'side.tmpl': 'value={{ getv "/side/value" }}\n' },
  );
  const valuesFile = c.file('values.yaml', 'side:\n  value: one\n');
  const env = {
    STEWARD_CONTROL_SOCKET: 'off',
    CONFD_CONFDIR: c.dir,
    CONFD_BACKEND: 'file',
    CONFD_FILE: valuesFile,
    STEWARD_WAIT: '0',
    STEWARD_PROCESS_SIDE_COMMAND: `'${NODE}' '${SIDECAR}' side`,
    STEWARD_PROCESS_SIDE_OUTPUT: 'inherit',
    STEWARD_PROCESS_SIDE_RELOAD_SIGNAL: 'USR1',
  };
  const change = (value: string): void => {
    writeFileSync(`${valuesFile}.new`, `side:\n  value: ${value}\n`);
    renameSync(`${valuesFile}.new`, valuesFile);
  };
  return { env, change };
}

describe('reload_process end to end', () => {
  it('gives the named sidecar its own reload signal and leaves the app alone', async () => {
    const c = setup('reload_process = "side"\n');
    const s = startSteward([NODE, APP], { env: c.env });
    await s.line(/^side ready/);
    await s.line(/^ready/);
    c.change('two');
    await s.line(/^side got SIGUSR1$/);
    await s.signal('SIGTERM');
    assert.equal((await s.exited).code, 0);
    assert.deepEqual(s.stdoutLines().filter((l) => /^got /.test(l)), ['got SIGTERM'], 'the app heard only the stop');
  });

  it('restarts the named sidecar on reload = "restart"', async () => {
    const c = setup('reload = "restart"\nreload_process = "side"\n');
    const s = startSteward([NODE, APP], { env: c.env });
    const first = await s.line(/^side ready/);
    await s.line(/^ready/);
    c.change('two');
    await s.line(/^side got SIGTERM$/);
    await until('the second run', () => s.stdoutLines().filter((l) => /^side ready/.test(l)).length === 2);
    assert.ok(logRecords(s.stderr()).some((r) => r['msg'] === 'restarting process side'));
    assert.ok(!s.stdoutLines().some((l) => /^got /.test(l)), 'the app was never signalled');
    assert.notEqual(s.stdoutLines().filter((l) => /^side ready/.test(l))[1], first);
    await s.signal('SIGTERM');
    assert.equal((await s.exited).code, 0);
  });
});
