// steward end to end with the file backend: the app starts on a complete configuration, gets
// SIGHUP when a value really changes, and the modes (--once, --noop, --check) do what they say.

import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { makeConfdir } from '../support/confdir.ts';
import { APP, NODE, logRecords, runSteward, startSteward, stopAllStewards } from '../support/steward.ts';
import { until } from '../support/until.ts';

afterEach(stopAllStewards);

const RESOURCE = '[template]\nsrc = "app.tmpl"\ndest = "$OUT/app.conf"\nkeys = ["/app"]\n';
const TEMPLATE = 'host={{ getv "/app/host" }}\n';

function setup(values: string, resource = RESOURCE, template = TEMPLATE) {
  const c = makeConfdir({ 'app.toml': resource }, { 'app.tmpl': template });
  const valuesFile = c.file('values.yaml', values);
  const env = { CONFD_CONFDIR: c.dir, CONFD_BACKEND: 'file', CONFD_FILE: valuesFile, STEWARD_WAIT: '0', APP_WATCH_FILE: join(c.out, 'app.conf') };
  return { ...c, valuesFile, env, dest: join(c.out, 'app.conf') };
}

function replaceAtomically(path: string, text: string): void {
  writeFileSync(`${path}.new`, text);
  renameSync(`${path}.new`, path);
}

describe('templates end to end (file backend)', () => {
  it('starts the app on the rendered file and sends SIGHUP when a value changes', async () => {
    const c = setup('app:\n  host: db1\n');
    const s = startSteward([NODE, APP], { env: c.env });
    await s.line(/^ready/);
    assert.ok(s.stdoutLines().includes('file=host=db1|'), 'the file existed before the app started');
    replaceAtomically(c.valuesFile, 'app:\n  host: db2\n');
    await s.line(/^got SIGHUP$/);
    await s.line(/^file=host=db2\|$/);
    await s.signal('SIGTERM');
    assert.equal((await s.exited).code, 0);
    assert.equal(s.stdoutLines().filter((l) => l === 'got SIGHUP').length, 1);
  });

  it('does not signal the app when a change leaves the file as it was', async () => {
    const c = setup('app:\n  host: db1\n  other: a\n');
    const s = startSteward([NODE, APP], { env: c.env });
    await s.line(/^ready/);
    replaceAtomically(c.valuesFile, 'app:\n  host: db1\n  other: b\n');
    // A second, real change proves the first one was processed and did not signal.
    replaceAtomically(c.valuesFile, 'app:\n  host: db3\n  other: b\n');
    await s.line(/^file=host=db3\|$/);
    await s.signal('SIGTERM');
    await s.exited;
    assert.equal(s.stdoutLines().filter((l) => l === 'got SIGHUP').length, 1);
  });

  it('--once renders, runs reload_cmd, and exits 0 without an app', async () => {
    const c = setup('app:\n  host: db1\n', `${RESOURCE}reload_cmd = "echo reloaded > $OUT/reloaded"\n`);
    const r = await runSteward(['--once'], { env: c.env, pid1: false });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(c.dest, 'utf8'), 'host=db1\n');
    assert.equal(readFileSync(join(c.out, 'reloaded'), 'utf8'), 'reloaded\n');
  });

  it('CONFD_ONETIME=true means --once', async () => {
    const c = setup('app:\n  host: db1\n');
    const r = await runSteward([], { env: { ...c.env, CONFD_ONETIME: 'true' }, pid1: false });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(c.dest, 'utf8'), 'host=db1\n');
  });

  it('--noop prints what would change as a diff and writes nothing', async () => {
    const c = setup('app:\n  host: db2\n');
    writeFileSync(c.dest, 'host=db1\n');
    const r = await runSteward(['--noop'], { env: c.env, pid1: false });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(c.dest, 'utf8'), 'host=db1\n');
    const out = r.stdout.join('\n');
    assert.match(out, /would change \(content\)/);
    assert.match(out, /^-host=db1$/m);
    assert.match(out, /^\+host=db2$/m);
  });

  it('--noop does not show the content of an owner-only file', async () => {
    const c = setup('app:\n  host: secret\n', `${RESOURCE}mode = "0600"\n`);
    const r = await runSteward(['--noop'], { env: c.env, pid1: false });
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout.join('\n'), /secret/);
    assert.match(r.stdout.join('\n'), /content not shown/);
  });

  it('--check validates without a backend, and names the template and line of an error', async () => {
    const good = setup('');
    const ok = await runSteward(['--check'], { env: { ...good.env, CONFD_FILE: '/nonexistent.yaml' }, pid1: false });
    assert.equal(ok.code, 0, ok.stderr);
    const bad = setup('', RESOURCE, 'a\nb {{ getv "/x" \n');
    const r = await runSteward(['--check'], { env: bad.env, pid1: false });
    assert.equal(r.code, 78);
    assert.match(r.stderr, /^steward: app\.toml: template: app\.tmpl:3: unclosed action started at app\.tmpl:2$/m);
  });

  it('exits 78 naming the key when it never appears, and never starts the app', async () => {
    const c = setup('app:\n  other: x\n');
    const marker = join(c.out, 'started');
    const r = await runSteward(['sh', '-c', `touch ${marker}`], { env: { ...c.env, STEWARD_CONFIG_TIMEOUT: '500ms' } });
    assert.equal(r.code, 78);
    assert.match(r.stderr, /keys still missing after 500ms \(STEWARD_CONFIG_TIMEOUT\): \/app\/host/);
    assert.equal(existsSync(marker), false);
    assert.equal(existsSync(c.dest), false);
  });

  it('starts the app once a missing key appears', async () => {
    const c = setup('app:\n  other: x\n');
    const s = startSteward([NODE, APP], { env: { ...c.env, STEWARD_CONFIG_TIMEOUT: '30s' } });
    await s.line(/^never$/, 300).catch(() => {});
    assert.equal(s.stdoutLines().length, 0, 'the app has not started');
    replaceAtomically(c.valuesFile, 'app:\n  host: late\n');
    await s.line(/^file=host=late\|$/);
    await s.signal('SIGTERM');
    await s.exited;
  });

  it('a SIGTERM while waiting for keys stops steward before the app starts', async () => {
    const c = setup('app:\n  other: x\n');
    const marker = join(c.out, 'started');
    const s = startSteward(['sh', '-c', `touch ${marker}`], { env: { ...c.env, STEWARD_CONFIG_TIMEOUT: '30s', STEWARD_LOG_LEVEL: 'debug' } });
    // The wait has begun once steward says what it renders.
    await until('steward to say what it renders', () => logRecords(s.stderr()).some((l) => String(l['msg']).startsWith('rendering')));
    await s.signal('SIGTERM');
    const exit = await s.exited;
    assert.equal(exit.code, 143);
    assert.equal(existsSync(marker), false);
  });

  it('renders the resources carried by CONFD_CONFDFILE_x / CONFD_TEMPLATE_x (the confd-sidecar Prometheus example)', async () => {
    const c = makeConfdir();
    const valuesFile = c.file('values.yaml', 'prometheus:\n  config:\n    nodes: "[\'10.0.0.1:9100\', \'10.0.0.2:9100\']"\n');
    const env = {
      CONFD_CONFDIR: join(c.dir, 'fresh'),
      CONFD_BACKEND: 'file',
      CONFD_FILE: valuesFile,
      CONFD_CONFDFILE_1: `prometheus.toml\n[template]\nsrc = "prometheus.yml.tmpl"\ndest = "${c.out}/prometheus.yml"\nkeys = ["/prometheus/config"]\n`,
      CONFD_TEMPLATE_1: 'prometheus.yml.tmpl\nscrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: {{ getv "/prometheus/config/nodes" }}\n',
      CONFD_PATH: '/usr/bin/confd',
    };
    const r = await runSteward(['sh', '-c', `cat ${c.out}/prometheus.yml`], { env, pid1: false });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout, ['scrape_configs:', '  - job_name: node', '    static_configs:', "      - targets: ['10.0.0.1:9100', '10.0.0.2:9100']"]);
    assert.ok(logRecords(r.stderr).some((l) => /CONFD_PATH is ignored/.test(String(l['msg']))));
  });

  it('reload = "restart" stops the app gracefully and starts it again on the new file', async () => {
    const c = setup('app:\n  host: db1\n', `${RESOURCE}reload = "restart"\n`);
    const s = startSteward([NODE, APP], { env: c.env });
    await s.line(/^file=host=db1\|$/);
    await s.line(/^ready/);
    replaceAtomically(c.valuesFile, 'app:\n  host: db2\n');
    await s.line(/^got SIGTERM$/);
    // The new app prints the file, then its ready line.
    await until("the new app's ready line", () => s.stdoutLines().filter((l) => l.startsWith('ready')).length >= 2);
    const lines = s.stdoutLines();
    assert.equal(lines[lines.lastIndexOf(lines.filter((l) => l.startsWith('ready'))[1] ?? '') - 1], 'file=host=db2|');
    await s.signal('SIGTERM');
    assert.equal((await s.exited).code, 0);
  });

  it('CONFD_INTERVAL re-syncs on its period even without a watch event', async () => {
    // The env backend never watches: only the periodic re-sync can notice anything, and the
    // environment of steward does not change, so a re-sync must render nothing new.
    const c = makeConfdir({ 'app.toml': '[template]\nsrc = "app.tmpl"\ndest = "$OUT/app.conf"\nkeys = ["/app"]\n' }, { 'app.tmpl': TEMPLATE });
    const s = startSteward([NODE, APP], {
      env: { CONFD_CONFDIR: c.dir, CONFD_BACKEND: 'env', APP_HOST: 'from-env', CONFD_INTERVAL: '200ms', STEWARD_LOG_LEVEL: 'debug', APP_WATCH_FILE: join(c.out, 'app.conf') },
    });
    await s.line(/^file=host=from-env\|$/);
    await s.line(/^ready/);
    await until('two periodic re-syncs', () => logRecords(s.stderr()).filter((l) => l['msg'] === 'periodic re-sync').length >= 2);
    await s.signal('SIGTERM');
    await s.exited;
    assert.ok(!s.stdoutLines().includes('got SIGHUP'));
  });

  it('--watch-templates re-renders when a template file is edited', async () => {
    const c = setup('app:\n  host: db1\n');
    const s = startSteward(['--watch-templates', NODE, APP], { env: c.env });
    await s.line(/^ready/);
    writeFileSync(join(c.dir, 'templates', 'app.tmpl'), 'server={{ getv "/app/host" }}\n');
    await s.line(/^file=server=db1\|$/);
    await s.signal('SIGTERM');
    await s.exited;
  });

  it('never prints a key value that a template function choked on', async () => {
    const c = setup('app:\n  host: db1\n  password: hunter2-secret\n', RESOURCE, 'port={{ atoi (getv "/app/password") }}\n');
    const r = await runSteward(['true'], { env: c.env, pid1: false });
    assert.equal(r.code, 78);
    assert.match(r.stderr, /error calling atoi: strconv\.Atoi: parsing "…": invalid syntax/);
    assert.doesNotMatch(r.stderr, /hunter2/);
  });

  it('keeps running on the last file when a template stops compiling, and renders again once fixed', async () => {
    const c = setup('app:\n  host: db1\n');
    const s = startSteward([NODE, APP], { env: c.env });
    await s.line(/^ready/);
    writeFileSync(join(c.dir, 'templates', 'app.tmpl'), 'host={{ getv "/app/host"\n');
    replaceAtomically(c.valuesFile, 'app:\n  host: db2\n');
    await until('the failed render to be reported', () => logRecords(s.stderr()).some((l) => /cannot update .*keeping the last one/.test(String(l['msg']))));
    assert.equal(readFileSync(c.dest, 'utf8'), 'host=db1\n');
    writeFileSync(join(c.dir, 'templates', 'app.tmpl'), 'host={{ getv "/app/host" }}\n');
    replaceAtomically(c.valuesFile, 'app:\n  host: db3\n');
    await s.line(/^file=host=db3\|$/);
    await s.signal('SIGTERM');
    assert.equal((await s.exited).code, 0);
  });

  it('with no template resources, no backend is loaded or contacted', async () => {
    const c = makeConfdir();
    const r = await runSteward(['true'], { env: { CONFD_CONFDIR: c.dir, CONFD_BACKEND: 'etcd', CONFD_NODE: '127.0.0.1:1', STEWARD_LOG_LEVEL: 'debug' }, pid1: false });
    assert.equal(r.code, 0);
    assert.ok(!logRecords(r.stderr).some((l) => l['part'] === 'config'));
  });
});
