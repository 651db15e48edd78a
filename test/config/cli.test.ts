// The command line as a user meets it: usage errors exit 64 and configuration errors 78, each
// with one line naming the option or variable; nothing is started in either case.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { OPTIONS } from '../../src/config/options.ts';
import { logRecords, runSteward } from '../support/steward.ts';

function marker(): { file: string; cmd: string[] } {
  const file = join(mkdtempSync(join(tmpdir(), 'steward-cli-')), 'started');
  return { file, cmd: ['sh', '-c', `touch ${file}`] };
}

const plain = { pid1: false } as const;

describe('command line', () => {
  it('ends options at the first word that is not an option', async () => {
    const r = await runSteward(['echo', '-config.file=x', '--stop-timeout', 'zzz'], plain);
    assert.equal(r.code, 0);
    assert.deepEqual(r.stdout, ['-config.file=x --stop-timeout zzz']);
  });

  it('takes -- before a command', async () => {
    const r = await runSteward(['--stop-timeout=2s', '--', 'printf', '%s\n', '--version'], plain);
    assert.deepEqual(r.stdout, ['--version']);
  });

  it('exits 64 with one line for an unknown option, starting nothing', async () => {
    const m = marker();
    const r = await runSteward(['--no-such-option', ...m.cmd], plain);
    assert.equal(r.code, 64);
    assert.equal(r.stderr, 'steward: unknown option --no-such-option (see steward --help)\n');
    assert.equal(existsSync(m.file), false);
  });

  it('exits 64 when no command is given', async () => {
    const r = await runSteward([], plain);
    assert.equal(r.code, 64);
    assert.match(r.stderr, /^steward: no command given/);
    assert.equal(r.stderr.split('\n').length, 2);
  });

  it('exits 64 when an option lacks its value', async () => {
    const r = await runSteward(['--stop-timeout'], plain);
    assert.equal(r.code, 64);
    assert.match(r.stderr, /--stop-timeout needs a value/);
  });

  const invalid: [string, string, RegExp][] = [
    ['STEWARD_STOP_TIMEOUT', 'ten', /STEWARD_STOP_TIMEOUT: invalid duration "ten" \(expected e\.g\. 500ms, 10s, 1m30s/],
    ['STEWARD_RESTART', 'sometimes', /STEWARD_RESTART: invalid value "sometimes" \(expected one of: never, on-failure, always\)/],
    ['STEWARD_RESTART_LIMIT', '-1', /STEWARD_RESTART_LIMIT: invalid number "-1" \(expected an integer from 0/],
    ['STEWARD_SIGNAL_GROUP', 'maybe', /STEWARD_SIGNAL_GROUP: invalid boolean "maybe"/],
    ['STEWARD_SIGNAL_REWRITE', 'TERM=QUIT', /STEWARD_SIGNAL_REWRITE: invalid rewrite "TERM=QUIT"/],
    ['STEWARD_SUCCESS_EXIT_CODES', '1,300', /STEWARD_SUCCESS_EXIT_CODES: invalid number "300" \(expected an integer from 0 to 255\)/],
    ['STEWARD_LOG_LEVEL', 'loud', /STEWARD_LOG_LEVEL: invalid value "loud" \(expected one of: trace, debug, info, warn, error, fatal, silent\)/],
    ['CONFD_LOG_LEVEL', 'loud', /CONFD_LOG_LEVEL: invalid value "loud"/],
    ['STEWARD_STOP_SIGNAL', 'NOPE', /STEWARD_STOP_SIGNAL: unknown signal "NOPE"/],
  ];
  for (const [name, value, message] of invalid) {
    it(`exits 78 for ${name}=${value}, naming it, starting nothing`, async () => {
      const m = marker();
      const r = await runSteward(m.cmd, { ...plain, env: { [name]: value } });
      assert.equal(r.code, 78);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
      assert.equal(existsSync(m.file), false);
    });
  }

  it('names the flag when the bad value came from a flag', async () => {
    const r = await runSteward(['--restart=sometimes', 'true'], plain);
    assert.equal(r.code, 78);
    assert.match(r.stderr, /^steward: --restart: invalid value "sometimes"/);
  });

  it('lets a flag win over the variable', async () => {
    const r = await runSteward(['--stop-timeout=1s', 'true'], { ...plain, env: { STEWARD_STOP_TIMEOUT: 'ten' } });
    assert.equal(r.code, 0);
  });

  it('prefers STEWARD_ over confd\'s alias', async () => {
    const r = await runSteward(['true'], { ...plain, env: { STEWARD_LOG_LEVEL: 'warn', CONFD_LOG_LEVEL: 'debug' } });
    assert.equal(r.code, 0);
    assert.equal(logRecords(r.stderr).filter((x) => x['level'] === 20).length, 0);
  });

  it('reads confd\'s alias when STEWARD_ is not set', async () => {
    const r = await runSteward(['true'], { ...plain, env: { CONFD_LOG_LEVEL: 'debug' } });
    assert.ok(logRecords(r.stderr).some((x) => x['level'] === 20 && x['msg'] === 'app started'));
  });

  it('warns about an unknown STEWARD_ variable with a suggestion', async () => {
    const r = await runSteward(['true'], { ...plain, env: { STEWARD_STOP_TIMOUT: '1s' } });
    assert.equal(r.code, 0);
    assert.ok(logRecords(r.stderr).some((x) => x['msg'] === 'unknown variable STEWARD_STOP_TIMOUT (did you mean STEWARD_STOP_TIMEOUT?)'.replace('STEWARD_STOP_TIMEOUT (', 'STEWARD_STOP_TIMOUT (')));
  });

  it('--help lists every option with its variable, and exits 0', async () => {
    const r = await runSteward(['--help'], plain);
    assert.equal(r.code, 0);
    const text = r.stdout.join('\n');
    for (const spec of Object.values(OPTIONS)) {
      assert.ok(text.includes(`--${spec.flag}`), spec.flag);
      assert.ok(text.includes(spec.env), spec.env);
    }
  });

  // The machines have Debian's Node 20 at /usr/bin/node: steward must say so, not crash on it.
  const systemNode = spawnSync('/usr/bin/node', ['--version'], { encoding: 'utf8' }).stdout?.trim() ?? '';
  const [sysMajor = 0, sysMinor = 0] = systemNode.replace(/^v/, '').split('.').map(Number);
  const tooOld = systemNode !== '' && (sysMajor < 22 || (sysMajor === 22 && sysMinor < 12));
  it('refuses a Node.js older than 22.12 with 78 and one line naming it', { skip: tooOld ? false : 'no old /usr/bin/node here' }, async () => {
    const r = await runSteward(['true'], { ...plain, env: { STEWARD_NODE: '/usr/bin/node' } });
    assert.equal(r.code, 78);
    assert.equal(r.stderr, `steward: needs Node.js 22.12 or later, but /usr/bin/node is ${systemNode} (set STEWARD_NODE to a newer node)\n`);
  });

  it('--version prints the version', async () => {
    const r = await runSteward(['--version'], plain);
    assert.match(r.stdout[0] ?? '', /^steward \d+\.\d+\.\d+$/);
  });

  it('logs JSON when stderr is not a terminal, one record per line', async () => {
    const r = await runSteward(['sh', '-c', 'exit 3'], plain);
    const records = logRecords(r.stderr);
    assert.ok(records.some((x) => x['msg'] === 'app exited with 3' && x['status'] === 3 && typeof x['time'] === 'number'));
  });
});
