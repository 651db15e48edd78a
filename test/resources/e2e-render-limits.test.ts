// steward end to end while a template runs away: PID 1 still forwards a SIGTERM at once and
// exits without writing the file, and a render over STEWARD_RENDER_TIMEOUT or
// STEWARD_RENDER_MAX_BYTES fails like a bad template (one error naming the resource and the
// limit, the last good file kept, no signal to the app).

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { makeConfdir } from '../support/confdir.ts';
import { APP, NODE, logRecords, startSteward, stopAllStewards } from '../support/steward.ts';
import { until } from '../support/until.ts';
import { tooBigMessage } from '../../src/resources/render-worker.ts';

afterEach(stopAllStewards);

const RESOURCE = '[template]\nsrc = "app.njk"\ndest = "$OUT/app.conf"\nkeys = ["/app"]\n';
const GO_RESOURCE = '[template]\nsrc = "app.tmpl"\ndest = "$OUT/app.conf"\nkeys = ["/app"]\n';
// Three ranges over /app/n items: n = 1 renders at once on the main thread, n = 2000 is 8 * 10^9
// iterations, cut off there after 20 ms and left to the render thread.
const GO_SLOW = '{{ $l := split (getv "/app/l") "," }}{{ range $l }}{{ range $l }}{{ range $l }}{{ end }}{{ end }}{{ end }}n={{ len $l }}\n';
// /app/n rounds of 100,000 empty iterations: n = 0 renders at once, n = 100000 runs for hours.
const SLOW = '{% for i in range(0, getv("/app/n") | int) %}{% for j in range(0, 100000) %}{% endfor %}{% endfor %}n={{ getv("/app/n") }} m={{ getv("/app/m") }}\n';
// /app/n bytes of x.
const LONG = '{% for i in range(0, getv("/app/n") | int) %}x{% endfor %}\nn={{ getv("/app/n") }}\n';

// Prints the CLOCK_MONOTONIC time at which SIGTERM arrived (process.hrtime is CLOCK_MONOTONIC).
const TERM_CLOCK_APP = `
process.on('SIGTERM', () => { process.stdout.write('term ' + process.hrtime.bigint() + '\\n'); process.exit(0); });
process.on('SIGHUP', () => process.stdout.write('got SIGHUP\\n'));
process.stdout.write('ready\\n');
setInterval(() => {}, 1 << 30);
`;

function setup(template: string, n: number, env: Record<string, string> = {}) {
  const c = makeConfdir({ 'app.toml': RESOURCE }, { 'app.njk': template, 'app.tmpl': GO_SLOW });
  const valuesFile = c.file('values.yaml', `app:\n  n: ${n}\n  m: 0\n`);
  return {
    ...c,
    dest: join(c.out, 'app.conf'),
    env: { CONFD_CONFDIR: c.dir, CONFD_BACKEND: 'file', CONFD_FILE: valuesFile, STEWARD_WAIT: '0', APP_WATCH_FILE: join(c.out, 'app.conf'), ...env },
    setN(value: number, m = 0) {
      writeFileSync(`${valuesFile}.new`, `app:\n  n: ${value}\n  m: ${m}\n`);
      renameSync(`${valuesFile}.new`, valuesFile);
    },
  };
}

/** CPU time (user + system) the process has used, in ms (the kernel counts in 10 ms ticks). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

describe('templates that run away (end to end)', () => {
  it('a SIGTERM during a runaway render reaches the app within 50 ms, and steward exits without writing the file', async () => {
    const c = setup(SLOW, 0, { STEWARD_RENDER_TIMEOUT: '10m' });
    const s = startSteward([NODE, '-e', TERM_CLOCK_APP], { env: c.env });
    await s.line(/^ready$/);
    assert.equal(readFileSync(c.dest, 'utf8'), 'n=0 m=0\n');
    const pid = await s.stewardPid();
    const before = cpuMs(pid);
    c.setN(100_000);
    // Under way: steward burns CPU that no other work of its explains.
    await until('the runaway render to be under way', () => cpuMs(pid) > before + 500, 30_000);
    const sent = process.hrtime.bigint();
    process.kill(pid, 'SIGTERM');
    const arrived = BigInt((await s.line(/^term \d+$/)).split(' ')[1] ?? '0');
    const latencyMs = Number(arrived - sent) / 1e6;
    assert.ok(latencyMs < 50, `SIGTERM reached the app after ${latencyMs.toFixed(1)} ms`);
    assert.equal((await s.exited).code, 0);
    assert.equal(readFileSync(c.dest, 'utf8'), 'n=0 m=0\n');
    assert.deepEqual(readdirSync(c.out), ['app.conf'], 'no stage file is left behind');
  });

  it('a SIGTERM during a runaway Go render, begun on the main thread, reaches the app within 50 ms; steward exits without writing', async () => {
    const c = makeConfdir({ 'app.toml': GO_RESOURCE }, { 'app.tmpl': GO_SLOW });
    const valuesFile = c.file('values.yaml', 'app:\n  l: "a"\n');
    const dest = join(c.out, 'app.conf');
    const env = { CONFD_CONFDIR: c.dir, CONFD_BACKEND: 'file', CONFD_FILE: valuesFile, STEWARD_WAIT: '0', STEWARD_RENDER_TIMEOUT: '10m' };
    const s = startSteward([NODE, '-e', TERM_CLOCK_APP], { env });
    await s.line(/^ready$/);
    assert.equal(readFileSync(dest, 'utf8'), 'n=1\n');
    const pid = await s.stewardPid();
    const before = cpuMs(pid);
    writeFileSync(`${valuesFile}.new`, `app:\n  l: "${Array(2000).fill('a').join(',')}"\n`);
    renameSync(`${valuesFile}.new`, valuesFile);
    await until('the runaway render to be under way', () => cpuMs(pid) > before + 500, 30_000);
    const sent = process.hrtime.bigint();
    process.kill(pid, 'SIGTERM');
    const arrived = BigInt((await s.line(/^term \d+$/)).split(' ')[1] ?? '0');
    const latencyMs = Number(arrived - sent) / 1e6;
    assert.ok(latencyMs < 50, `SIGTERM reached the app after ${latencyMs.toFixed(1)} ms`);
    assert.equal((await s.exited).code, 0);
    assert.equal(readFileSync(dest, 'utf8'), 'n=1\n');
    assert.deepEqual(readdirSync(c.out), ['app.conf'], 'no stage file is left behind');
  });

  it('a render over STEWARD_RENDER_TIMEOUT fails like a bad template: one error, the last file kept, no signal', async () => {
    const c = setup(SLOW, 0, { STEWARD_RENDER_TIMEOUT: '500ms' });
    const s = startSteward([NODE, APP], { env: c.env });
    await s.line(/^ready/);
    c.setN(100_000);
    const error = await until('the error', () => logRecords(s.stderr()).find((r) => r['level'] === 50), 30_000);
    assert.equal(error['resource'], 'app.toml');
    assert.equal(error['error'], 'the render took longer than STEWARD_RENDER_TIMEOUT (500ms)');
    assert.equal(readFileSync(c.dest, 'utf8'), 'n=0 m=0\n');
    // A good change afterwards signals once: the failed render signalled nothing.
    c.setN(0, 1);
    await s.line(/^file=n=0 m=1\|$/);
    await s.signal('SIGTERM');
    await s.exited;
    assert.equal(s.stdoutLines().filter((l) => l === 'got SIGHUP').length, 1);
    assert.equal(logRecords(s.stderr()).filter((r) => r['level'] === 50).length, 1);
    assert.deepEqual(readdirSync(c.out), ['app.conf']);
  });

  it('an output over STEWARD_RENDER_MAX_BYTES fails like a bad template: one error, the last file kept, no signal', async () => {
    const c = setup(LONG, 10, { STEWARD_RENDER_MAX_BYTES: '1KB' });
    const s = startSteward([NODE, APP], { env: c.env });
    await s.line(/^ready/);
    c.setN(5000);
    const error = await until('the error', () => logRecords(s.stderr()).find((r) => r['level'] === 50), 30_000);
    assert.equal(error['resource'], 'app.toml');
    assert.equal(error['error'], tooBigMessage(1024));
    assert.equal(readFileSync(c.dest, 'utf8'), `${'x'.repeat(10)}\nn=10\n`);
    c.setN(20);
    await s.line(/^file=x{20}\|n=20\|$/);
    await s.signal('SIGTERM');
    await s.exited;
    assert.equal(s.stdoutLines().filter((l) => l === 'got SIGHUP').length, 1);
    assert.deepEqual(readdirSync(c.out), ['app.conf']);
  });
});
