// Reading sidecars from STEWARD_PROCESS_<NAME>_<FIELD> and STEWARD_PROCESS_DIR files: names with
// underscores, defaults from the app's settings, and configuration errors that name the variable.

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/core/exit-codes.ts';
import { readProcesses } from '../../src/processes/config.ts';
import { hasProcesses } from '../../src/processes/has-processes.ts';

const DEFAULTS = { restartBackoffMs: 1000, stopTimeoutMs: 8000 };

describe('sidecar settings', () => {
  it('reads a sidecar from its variables, with the defaults the issue names', async () => {
    const [spec] = await readProcesses({ STEWARD_PROCESS_CONSUL_AGENT_COMMAND: 'consul agent -dev', STEWARD_PROCESS_CONSUL_AGENT_RESTART_BACKOFF: '2s' }, undefined, DEFAULTS, false);
    assert.ok(spec !== undefined);
    assert.equal(spec.name, 'consul_agent');
    assert.deepEqual(spec.argv, ['consul', 'agent', '-dev']);
    assert.equal(spec.restart, 'always');
    assert.equal(spec.restartBackoffMs, 2000);
    assert.equal(spec.reloadSignal, 'SIGHUP');
    assert.equal(spec.stopSignal, 'SIGTERM');
    assert.equal(spec.stopTimeoutMs, 8000);
    assert.equal(spec.after, undefined);
    assert.equal(spec.required, false);
    assert.equal(spec.output, 'capture');
    assert.equal(spec.user, undefined);
  });

  it('reads files in STEWARD_PROCESS_DIR, named by the file or its name key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'steward-processes-'));
    writeFileSync(join(dir, 'haproxy.toml'), 'command = ["haproxy", "-W", "-f", "/etc/haproxy/haproxy.cfg"]\nreload_signal = "USR2"\nhealth_tcp = "127.0.0.1:80"\nhealth_retries = 2\n');
    writeFileSync(join(dir, 'x.toml'), 'name = "agent"\ncommand = "agent run"\nafter = "haproxy:healthy"\nrequired = true\n');
    const specs = await readProcesses({}, dir, DEFAULTS, false);
    assert.deepEqual(specs.map((s) => s.name), ['agent', 'haproxy']);
    assert.deepEqual(specs[1]?.health?.probe, { kind: 'tcp', targets: ['127.0.0.1:80'] });
    assert.equal(specs[1]?.health?.retries, 2);
    assert.equal(specs[1]?.reloadSignal, 'SIGUSR2');
    assert.deepEqual(specs[0]?.after, { kind: 'process', name: 'haproxy', state: 'healthy' });
    assert.equal(specs[0]?.required, true);
  });

  const refused: [string, Record<string, string>, RegExp][] = [
    ['a sidecar without a command', { STEWARD_PROCESS_X_RESTART: 'always' }, /STEWARD_PROCESS_X_COMMAND: a sidecar needs a command/],
    ['an unknown field', { STEWARD_PROCESS_X_COMMAND: 'x', STEWARD_PROCESS_X_COLOUR: 'red' }, /STEWARD_PROCESS_X_COLOUR: not a sidecar setting/],
    ['a bad restart policy', { STEWARD_PROCESS_X_COMMAND: 'x', STEWARD_PROCESS_X_RESTART: 'sometimes' }, /STEWARD_PROCESS_X_RESTART/],
    ['_AFTER naming no sidecar', { STEWARD_PROCESS_X_COMMAND: 'x', STEWARD_PROCESS_X_AFTER: 'y:running' }, /no sidecar named "y"/],
    ['a loop in the start order', { STEWARD_PROCESS_X_COMMAND: 'x', STEWARD_PROCESS_X_AFTER: 'y:running', STEWARD_PROCESS_Y_COMMAND: 'y', STEWARD_PROCESS_Y_AFTER: 'x:running' }, /loops/],
    ['<name>:healthy without a health check', { STEWARD_PROCESS_X_COMMAND: 'x', STEWARD_PROCESS_X_AFTER: 'y:healthy', STEWARD_PROCESS_Y_COMMAND: 'y' }, /needs a health check of y/],
    ['app:healthy without the app\'s health check', { STEWARD_PROCESS_X_COMMAND: 'x', STEWARD_PROCESS_X_AFTER: 'app:healthy' }, /STEWARD_HEALTH_/],
    ['two health checks', { STEWARD_PROCESS_X_COMMAND: 'x', STEWARD_PROCESS_X_HEALTH_CMD: 'true', STEWARD_PROCESS_X_HEALTH_TCP: '127.0.0.1:1' }, /set only one health check/],
    ['the name app', { STEWARD_PROCESS_APP_COMMAND: 'x' }, /invalid sidecar name "app"/],
  ];
  for (const [what, env, message] of refused) {
    it(`refuses ${what}`, async () => {
      await assert.rejects(readProcesses(env, undefined, DEFAULTS, false), (error: unknown) => error instanceof ConfigError && message.test(error.message));
    });
  }

  it('is needed only when a sidecar variable or STEWARD_PROCESS_DIR is set', () => {
    assert.equal(hasProcesses({ PATH: '/bin', STEWARD_USER: 'x' }, undefined), false);
    assert.equal(hasProcesses({ STEWARD_PROCESS_X_COMMAND: '' }, undefined), false);
    assert.equal(hasProcesses({ STEWARD_PROCESS_X_COMMAND: 'x' }, undefined), true);
    assert.equal(hasProcesses({}, '/etc/steward/processes.d'), true);
  });
});
