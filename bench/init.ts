// Init benchmark: steward beside tini and dumb-init (Debian packages), in one run.
//   start-up   exec of the init -> the app running (the app prints the time it started)
//   idle RSS   of the init, with the app sleeping
//   signal     SIGUSR1 sent to the init -> the app's handler running (p50/p99)
//   reaping    10,000 already-exited orphans reparented at once -> none left (median of 3)
// Run: npm run bench:init   (needs tini, dumb-init, perl, unshare; root)

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { childrenOf } from '../test/support/steward.ts';
import { lineQueue, percentile } from './support.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const STEWARD = join(root, 'bin', 'steward');
const SIGNAL_APP = join(root, 'bench', 'fixtures', 'signal-app.pl');
const ORPHANS_APP = join(root, 'bench', 'fixtures', 'orphans.pl');

interface Init {
  readonly name: string;
  readonly argv: readonly string[];
}

const INITS: Init[] = [
  { name: 'steward', argv: [STEWARD, '--'] },
  { name: 'tini', argv: ['tini', '-s', '--'] },
  { name: 'dumb-init', argv: ['dumb-init'] },
];

const RUNS = Number(process.env['BENCH_RUNS'] ?? 30);
const SIGNALS = Number(process.env['BENCH_SIGNALS'] ?? 200);
const ORPHANS = Number(process.env['BENCH_ORPHANS'] ?? 10_000);

function realtimeMs(): number {
  return performance.timeOrigin + performance.now();
}

function monotonicNs(): bigint {
  return process.hrtime.bigint();
}

function median(values: readonly number[]): number {
  return percentile(values, 50);
}

async function run(argv: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(argv[0] ?? '', argv.slice(1), { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    p.stdout.setEncoding('utf8');
    p.stdout.on('data', (c: string) => (out += c));
    p.on('error', reject);
    p.on('exit', () => resolve(out));
  });
}

/** exec of `argv` -> `date` running as the app, in ms. */
async function startupMs(prefix: readonly string[]): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < RUNS + 3; i++) {
    const t0 = realtimeMs();
    const out = await run([...prefix, '/bin/date', '+%s%N']);
    const appNs = Number(out.trim());
    if (i >= 3) samples.push(appNs / 1e6 - t0);
  }
  return samples;
}

async function nodeBaselineMs(): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < RUNS + 3; i++) {
    const t0 = performance.now();
    await run([process.execPath, '-e', '0']);
    if (i >= 3) samples.push(performance.now() - t0);
  }
  return samples;
}

interface Running {
  readonly proc: ChildProcess;
  line(): Promise<string>;
  initPid(): number;
}

function startInNamespace(init: Init, app: readonly string[]): Running {
  const proc = spawn('unshare', ['--pid', '--fork', '--mount-proc', ...init.argv, ...app], {
    stdio: ['ignore', 'pipe', 'ignore'],
    env: { ...process.env, STEWARD_LOG_LEVEL: 'warn' },
  });
  return {
    proc,
    line: lineQueue(proc.stdout),
    initPid: () => childrenOf(proc.pid ?? -1)[0] ?? -1,
  };
}

async function stop(r: Running): Promise<void> {
  const pid = r.initPid();
  if (pid > 0) process.kill(pid, 'SIGKILL');
  if (r.proc.exitCode === null) await new Promise((res) => r.proc.once('exit', res));
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? Number.NaN) / 1024;
}

async function idleRss(init: Init): Promise<number> {
  const r = startInNamespace(init, ['perl', SIGNAL_APP]);
  await r.line();
  await new Promise((res) => setTimeout(res, 1000));
  const mb = rssMb(r.initPid());
  await stop(r);
  return mb;
}

async function signalLatency(init: Init): Promise<number[]> {
  const r = startInNamespace(init, ['perl', SIGNAL_APP]);
  await r.line();
  const pid = r.initPid();
  const samples: number[] = [];
  for (let i = 0; i < SIGNALS + 10; i++) {
    const t0 = monotonicNs();
    process.kill(pid, 'SIGUSR1');
    const handled = BigInt((await r.line()).trim());
    if (i >= 10) samples.push(Number(handled - t0) / 1e6);
  }
  await stop(r);
  return samples;
}

async function reapingMs(init: Init): Promise<number> {
  const r = startInNamespace(init, ['perl', ORPHANS_APP, String(ORPHANS)]);
  const line = await r.line();
  // The orphans were reparented at the time printed; they may already be gone.
  const reparentedAt = BigInt(line.split(' ')[1] ?? '0');
  const pid = r.initPid();
  // Done when only the app is left under the init.
  let end: bigint;
  for (;;) {
    if (childrenOf(pid).length <= 1) {
      end = monotonicNs();
      break;
    }
    if (Number(monotonicNs() - reparentedAt) / 1e6 > 60_000) throw new Error(`${init.name}: orphans not reaped in 60s`);
    await new Promise((res) => setImmediate(res));
  }
  await stop(r);
  return Number(end - reparentedAt) / 1e6;
}

function fmt(n: number, digits = 1): string {
  return Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
}

async function main(): Promise<void> {
  for (const tool of ['tini', 'dumb-init', 'perl', 'unshare']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new Error(`${tool} is needed for this benchmark`);
  }
  const nodeBase = median(await nodeBaselineMs());
  const directStart = median(await startupMs([]));
  const rows: string[][] = [];
  for (const init of INITS) {
    const start = await startupMs(init.argv);
    const rss = await idleRss(init);
    const lat = await signalLatency(init);
    const reaps = [await reapingMs(init), await reapingMs(init), await reapingMs(init)];
    const reap = median(reaps);
    rows.push([init.name, fmt(median(start)), fmt(percentile(start, 90)), fmt(rss), fmt(percentile(lat, 50), 3), fmt(percentile(lat, 99), 3), fmt(reap)]);
  }
  const header = ['init', 'start p50 ms', 'start p90 ms', 'idle RSS MB', 'signal p50 ms', 'signal p99 ms', `reap ${ORPHANS} ms`];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  console.log(`node -e 0 (bare ${process.version}): ${fmt(nodeBase)} ms; /bin/date exec'd directly: ${fmt(directStart)} ms`);
  console.log(line(header));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(r));
  const steward = rows[0];
  const tini = rows[1];
  if (steward && tini) {
    console.log(`\nsteward start-up / bare node: ${fmt(Number(steward[1]) / nodeBase, 2)}x (target <= 1.5x)`);
    console.log(`steward idle RSS: ${steward[3]} MB (target < 50 MB)`);
    console.log(`steward reaping / tini reaping: ${fmt(Number(steward[6]) / Number(tini[6]), 2)}x (target <= 1.5x)`);
  }
}

await main();
