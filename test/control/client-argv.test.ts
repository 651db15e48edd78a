// The client's flags: a flag before the app's command, never a word, never a variable.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseClientArgv } from '../../src/control/client-argv.ts';
import { UsageError } from '../../src/core/exit-codes.ts';

describe('client flags', () => {
  it('turns steward into the client only for a client flag among the options', () => {
    assert.deepEqual(parseClientArgv(['--health']), { request: { command: 'health' }, json: false, socket: undefined });
    assert.deepEqual(parseClientArgv(['--status', '--json']), { request: { command: 'status' }, json: true, socket: undefined });
    assert.deepEqual(parseClientArgv(['--run-job', 'vacuum']), { request: { command: 'run-job', job: 'vacuum' }, json: false, socket: undefined });
    assert.deepEqual(parseClientArgv(['--control-socket=/tmp/s', '--reload']), { request: { command: 'reload' }, json: false, socket: '/tmp/s' });
    assert.deepEqual(parseClientArgv(['--rollout-release']), { request: { command: 'rollout-release' }, json: false, socket: undefined });
  });

  it('leaves the app\'s command alone, even one named like a client flag', () => {
    assert.equal(parseClientArgv(['health']), undefined);
    assert.equal(parseClientArgv(['--', 'app', '--health']), undefined);
    assert.equal(parseClientArgv(['app', '--status']), undefined);
    assert.equal(parseClientArgv(['--once']), undefined);
  });

  it('refuses a mix of a client flag with run options, two commands, or --json elsewhere', () => {
    assert.throws(() => parseClientArgv(['--health', '--once']), UsageError);
    assert.throws(() => parseClientArgv(['--health', '--status']), UsageError);
    assert.throws(() => parseClientArgv(['--health', '--json']), UsageError);
    assert.throws(() => parseClientArgv(['--run-job']), UsageError);
  });
});
