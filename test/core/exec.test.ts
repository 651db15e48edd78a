// runCommand's status is the command's own exit, and its timeout bounds the whole call even when
// the command leaves a process in another session holding its output open.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { runCommand } from '../../src/core/exec.ts';
import { recordingLogger } from '../support/logs.ts';

const QUIET = { source: { kind: 'check_cmd', name: 'test' }, log: recordingLogger() } as const;

const pidFiles: string[] = [];

/** A shell snippet that starts `sleep 30` in a new session (out of reach of a group kill) holding stdout. */
function detachedHolder(): string {
  const pidFile = join(mkdtempSync(join(tmpdir(), 'steward-exec-')), 'holder.pid');
  pidFiles.push(pidFile);
  return `setsid sh -c 'echo $$ > ${pidFile}; exec sleep 30' &`;
}

afterEach(() => {
  for (const file of pidFiles.splice(0)) {
    try {
      process.kill(Number(readFileSync(file, 'utf8')), 'SIGKILL');
    } catch {
      // Never started or already gone.
    }
  }
});

describe('runCommand', () => {
  it('reports a command that exited 0 as ok, within its timeout, though a setsid child holds its output', async () => {
    const result = await runCommand({ shell: `${detachedHolder()} echo checked; exit 0` }, { ...QUIET, timeoutMs: 1500 });
    assert.equal(result.ok, true, result.failure);
    assert.equal(result.exitCode, 0);
    assert.equal(result.timedOut, false);
    assert.match(result.output, /checked/);
    assert.ok(result.durationMs < 5000, `took ${result.durationMs} ms`);
  });

  it('reports a command that exited 3 with its own status, not as timed out', async () => {
    const result = await runCommand({ shell: `${detachedHolder()} exit 3` }, { ...QUIET, timeoutMs: 1500 });
    assert.equal(result.failure, 'exit status 3');
    assert.equal(result.timedOut, false);
    assert.ok(result.durationMs < 5000, `took ${result.durationMs} ms`);
  });

  it('stops a command that outlives its timeout, without waiting for a setsid child that holds its output', async () => {
    const result = await runCommand({ shell: `${detachedHolder()} sleep 30` }, { ...QUIET, timeoutMs: 1000 });
    assert.equal(result.timedOut, true);
    assert.equal(result.ok, false);
    assert.ok(result.durationMs < 5000, `took ${result.durationMs} ms`);
  });

  it('still reads all of the output of an ordinary command', async () => {
    const result = await runCommand({ shell: 'seq 1 2000; echo done >&2' }, { ...QUIET, timeoutMs: 5000, keepOutput: 100_000 });
    assert.equal(result.ok, true);
    assert.equal(result.output.split('\n').length, 2001);
    assert.match(result.output, /done$/);
  });
});
