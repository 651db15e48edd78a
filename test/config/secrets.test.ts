// steward's secret settings: read from the variable or from the file its _FILE form names, never
// both; never passed on to the app; a secret flag's value overwritten in /proc/<pid>/cmdline.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { parseArgv } from '../../src/config/argv.ts';
import { resolveSettings, unknownStewardVariables } from '../../src/config/settings.ts';
import { appPid, logRecords, runSteward, startSteward, stopAllStewards } from '../support/steward.ts';
import { until } from '../support/until.ts';

const plain = { pid1: false } as const;

function secretFile(content: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'steward-secret-')), 'secret');
  writeFileSync(path, content, { mode: 0o600 });
  return path;
}

describe('secret settings', () => {
  afterEach(stopAllStewards);

  it('reads each secret from its _FILE form, without the trailing newline', () => {
    const pw = secretFile('s3cret-pass\n');
    const token = secretFile('tok-123');
    const { settings, sources } = resolveSettings(parseArgv(['true']), { CONFD_PASSWORD_FILE: pw, CONSUL_HTTP_TOKEN_FILE: token });
    assert.equal(settings.password, 's3cret-pass');
    assert.equal(settings.token, 'tok-123');
    assert.equal(sources.get('password')?.name, 'CONFD_PASSWORD');
    const steward = resolveSettings(parseArgv(['true']), { STEWARD_PASSWORD_FILE: pw });
    assert.equal(steward.settings.password, 's3cret-pass');
  });

  it('does not report the _FILE forms as unknown variables', () => {
    assert.deepEqual(unknownStewardVariables({ STEWARD_PASSWORD_FILE: '/x', STEWARD_TOKEN_FILE: '/y' }), []);
  });

  it('exits 78 naming both variables, never the value, when both forms are set', async () => {
    const pw = secretFile('from-file');
    const r = await runSteward(['true'], { ...plain, env: { CONFD_PASSWORD: 'inline-secret-value', CONFD_PASSWORD_FILE: pw } });
    assert.equal(r.code, 78);
    assert.equal(r.stderr, 'steward: CONFD_PASSWORD and CONFD_PASSWORD_FILE are both set; set only one of them\n');
  });

  it('exits 78 naming the variable and the path when the file cannot be read', async () => {
    const missing = join(mkdtempSync(join(tmpdir(), 'steward-secret-')), 'absent');
    const r = await runSteward(['true'], { ...plain, env: { STEWARD_TOKEN_FILE: missing } });
    assert.equal(r.code, 78);
    assert.equal(r.stderr, `steward: STEWARD_TOKEN_FILE: cannot read ${missing} (ENOENT)\n`);
  });

  it("removes steward's secret settings from the app's environment, and keeps CONSUL_HTTP_TOKEN", async () => {
    const pw = secretFile('file-secret');
    const r = await runSteward(['env'], {
      env: { CONFD_PASSWORD: 'confd-secret', STEWARD_TOKEN: 'steward-token', STEWARD_PASSWORD_FILE: undefined, CONSUL_HTTP_TOKEN: 'consul-token', KEEP_ME: 'yes' },
    });
    assert.equal(r.code, 0);
    assert.ok(r.stdout.includes('KEEP_ME=yes'));
    assert.ok(r.stdout.includes('CONSUL_HTTP_TOKEN=consul-token'));
    assert.equal(r.stdout.filter((l) => /^(CONFD_PASSWORD|STEWARD_TOKEN|STEWARD_PASSWORD)/.test(l)).length, 0, r.stdout.join('\n'));
    const viaFile = await runSteward(['env'], { env: { STEWARD_PASSWORD_FILE: pw } });
    assert.equal(viaFile.stdout.filter((l) => l.startsWith('STEWARD_PASSWORD')).length, 0);
  });

  it("overwrites a secret flag's value in /proc/<pid>/cmdline and warns", async () => {
    const s = startSteward(['--password', 'flag-secret-value', '--', 'sleep', '30'], plain);
    const pid = await s.stewardPid();
    const cmdline = await until('the masked command line', () => {
      const text = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      return text.includes('***') ? text : undefined;
    });
    assert.doesNotMatch(cmdline, /flag-secret-value/);
    assert.match(cmdline.replaceAll('\0', ' '), /--password \*\*\* -- sleep 30/);
    // The title is set before steward listens for signals: stop it once the app runs.
    await appPid(s);
    await s.signal('SIGTERM');
    await s.exited;
    const warning = logRecords(s.stderr()).find((l) => String(l['msg']).includes('--password was given on the command line'));
    assert.ok(warning, s.stderr());
    assert.doesNotMatch(s.stderr(), /flag-secret-value/);
  });
});
