// A child's output in steward's log: one record per line, at info for stdout and warn for stderr,
// naming the child; lines capped at 8 KB; at most 100 lines a second per source, with the count
// of what was dropped.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createOutputCapture, LINES_PER_SECOND, MAX_LINE_BYTES } from '../../src/core/child-output.ts';
import { runCommand } from '../../src/core/exec.ts';
import { recordingLogger, type Recorded } from '../support/logs.ts';
import { manualClock } from '../support/manual-clock.ts';

function capture() {
  const records: Recorded[] = [];
  const clock = manualClock(1_000_000);
  const out = createOutputCapture({ source: { kind: 'hook', name: 'on-leader' }, log: recordingLogger(records), clock });
  return { records, clock, out };
}

describe('child output in the log', () => {
  it('logs each line with the child, its name and the stream: stdout at info, stderr at warn', () => {
    const { records, out } = capture();
    out.write('stdout', 'first li');
    out.write('stderr', 'trouble\n');
    out.write('stdout', 'ne\r\nsecond\nunfinished');
    out.end();
    assert.deepEqual(records, [
      { level: 'warn', msg: 'trouble', fields: { child: 'hook', name: 'on-leader', stream: 'stderr' } },
      { level: 'info', msg: 'first line', fields: { child: 'hook', name: 'on-leader', stream: 'stdout' } },
      { level: 'info', msg: 'second', fields: { child: 'hook', name: 'on-leader', stream: 'stdout' } },
      { level: 'info', msg: 'unfinished', fields: { child: 'hook', name: 'on-leader', stream: 'stdout' } },
    ]);
  });

  it('cuts a line at 8 KB, marks it, and skips the rest of it, whether its newline came or not', () => {
    const { records, out } = capture();
    out.write('stdout', `${'a'.repeat(20_000)}\nafter\n`);
    // A line with no newline in sight is cut without being held whole; its rest is skipped.
    for (let i = 0; i < 10; i++) out.write('stderr', 'b'.repeat(4000));
    out.write('stderr', 'tail of the long line\nnext\n');
    // A multi-byte character is never split by the cut.
    out.write('stdout', `${'x'.repeat(MAX_LINE_BYTES - 1)}é and more\n`);
    out.end();
    assert.deepEqual(
      records.map((r) => [r.level, r.msg.length, r.fields['truncated'] ?? false]),
      [
        ['info', MAX_LINE_BYTES, true],
        ['info', 'after'.length, false],
        ['warn', MAX_LINE_BYTES, true],
        ['warn', 'next'.length, false],
        ['info', MAX_LINE_BYTES - 1, true],
      ],
    );
    assert.equal(records[0]?.msg, 'a'.repeat(MAX_LINE_BYTES));
  });

  it('keeps at most 100 lines a second and logs how many were dropped when the window ends', async () => {
    const { records, clock, out } = capture();
    for (let i = 1; i <= LINES_PER_SECOND + 50; i++) out.write('stdout', `line ${i}\n`);
    assert.equal(records.length, LINES_PER_SECOND);
    assert.equal(records.at(-1)?.msg, `line ${LINES_PER_SECOND}`);
    await clock.armed();
    clock.advance(999);
    assert.equal(records.length, LINES_PER_SECOND, 'nothing is said before the window ends');
    clock.advance(1);
    assert.deepEqual(records.at(-1), {
      level: 'warn',
      msg: 'hook on-leader: 50 lines of output dropped (more than 100 a second)',
      fields: { child: 'hook', name: 'on-leader', dropped: 50 },
    });
    out.write('stderr', 'kept again\n');
    assert.equal(records.at(-1)?.msg, 'kept again');
    out.end();
    assert.equal(records.filter((r) => r.fields['dropped'] !== undefined).length, 1);
  });

  it('reports lines dropped in a window that the end of the output closes', () => {
    const { records, out } = capture();
    for (let i = 0; i < LINES_PER_SECOND + 3; i++) out.write('stderr', 'x\n');
    out.end();
    assert.equal(records.at(-1)?.fields['dropped'], 3);
  });

  it("puts a command's output into the log under its source, and leaves steward's secrets out of its environment", async () => {
    const records: Recorded[] = [];
    const result = await runCommand(
      { shell: 'echo "password=${CONFD_PASSWORD:-unset} consul=$CONSUL_HTTP_TOKEN"; echo warned >&2' },
      {
        source: { kind: 'reload_cmd', name: 'app.toml' },
        log: recordingLogger(records),
        timeoutMs: 5000,
        env: { PATH: process.env['PATH'], CONFD_PASSWORD: 'hunter2', CONSUL_HTTP_TOKEN: 'consul-token' },
      },
    );
    assert.equal(result.ok, true, result.failure);
    assert.match(result.output, /password=unset consul=consul-token/);
    assert.deepEqual(
      records.map((r) => [r.level, r.msg, r.fields['child'], r.fields['name'], r.fields['stream']]).sort(),
      [
        ['info', 'password=unset consul=consul-token', 'reload_cmd', 'app.toml', 'stdout'],
        ['warn', 'warned', 'reload_cmd', 'app.toml', 'stderr'],
      ],
    );
  });
});
