// A stop during a huge render: steward runs an app on a 1-line file, a value change makes the
// template render 300 MB, and while that render runs steward gets SIGTERM. Measured: SIGTERM sent
// to steward -> the app's handler runs (CLOCK_MONOTONIC on both sides), SIGTERM -> steward
// exited, and whether the file was written after all. The limits are raised so that the render
// would finish if nothing stopped it.
// Run: npm run bench -- render-stop   (needs perl; BENCH_STEWARD=<path to bin/steward> to compare builds)

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lineQueue, percentile } from './support.ts';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const STEWARD = process.env['BENCH_STEWARD'] ?? join(root, 'bin', 'steward');
const ROUNDS = Number(process.env['BENCH_RUNS'] ?? 5);
const LINES = 3_000_000;
const LINE = `${'0123456789'.repeat(9)}abcdefghi\n`;

const TERM_APP = `
use Time::HiRes qw(clock_gettime CLOCK_MONOTONIC);
$| = 1;
$SIG{TERM} = sub { printf "term %d\\n", clock_gettime(CLOCK_MONOTONIC) * 1e9; exit 0; };
print "ready\\n";
while (1) { select(undef, undef, undef, 10); }
`;

function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function until(probe: () => boolean): Promise<void> {
  while (!probe()) await new Promise((r) => setTimeout(r, 5));
}

interface Round {
  readonly termMs: number;
  readonly exitMs: number;
  readonly written: boolean;
  readonly leftovers: number;
}

async function round(): Promise<Round> {
  const dir = mkdtempSync(join(tmpdir(), 'steward-bench-stop-'));
  for (const sub of ['conf.d', 'templates', 'out']) mkdirSync(join(dir, sub));
  const dest = join(dir, 'out', 'big.conf');
  writeFileSync(join(dir, 'conf.d', 'big.toml'), `[template]\nsrc = "big.tmpl"\ndest = "${dest}"\nkeys = ["/app"]\n`);
  writeFileSync(join(dir, 'templates', 'big.tmpl'), `{{ range seq 1 (atoi (getv "/app/n")) }}${LINE}{{ end }}`);
  const values = join(dir, 'values.yaml');
  writeFileSync(values, 'app:\n  n: 1\n');
  const proc = spawn(STEWARD, ['perl', '-e', TERM_APP], {
    env: {
      ...process.env,
      CONFD_CONFDIR: dir, CONFD_BACKEND: 'file', CONFD_FILE: values, STEWARD_WAIT: '0',
      STEWARD_RENDER_TIMEOUT: '10m', STEWARD_RENDER_MAX_BYTES: '1GB', STEWARD_LOG_LEVEL: 'error',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = lineQueue(proc.stdout);
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  await line();
  const pid = proc.pid ?? -1;
  const before = cpuMs(pid);
  writeFileSync(`${values}.new`, `app:\n  n: ${LINES}\n`);
  renameSync(`${values}.new`, values);
  // Well into the render (it takes seconds), not at its start.
  await until(() => cpuMs(pid) > before + 500);
  const sent = process.hrtime.bigint();
  proc.kill('SIGTERM');
  const arrived = BigInt((await line()).split(' ')[1] ?? '0');
  await exited;
  const done = process.hrtime.bigint();
  return {
    termMs: Number(arrived - sent) / 1e6,
    exitMs: Number(done - sent) / 1e6,
    written: readFileSync(dest).length !== LINE.length,
    leftovers: readdirSync(join(dir, 'out')).length - 1,
  };
}

const rounds: Round[] = [];
for (let i = 0; i < ROUNDS; i++) rounds.push(await round());
const term = rounds.map((r) => r.termMs);
const exit = rounds.map((r) => r.exitMs);
const fmt = (n: number): string => n.toFixed(1);
console.log(`${STEWARD}, node ${process.version}, ${ROUNDS} rounds, ${(LINES * LINE.length) / 1e6} MB render`);
console.log('| SIGTERM -> app p50 ms | SIGTERM -> app max ms | SIGTERM -> steward exited p50 ms | max ms | file written after the stop | stage files left |');
console.log('| --- | --- | --- | --- | --- | --- |');
console.log(
  `| ${fmt(percentile(term, 50))} | ${fmt(Math.max(...term))} | ${fmt(percentile(exit, 50))} | ${fmt(Math.max(...exit))} | ${rounds.filter((r) => r.written).length} of ${ROUNDS} | ${rounds.reduce((n, r) => n + r.leftovers, 0)} |`,
);
