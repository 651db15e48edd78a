// Issue 17's table: steward's start-up, memory and reloads measured side by side in one run with
// their yardsticks (a bare `node -e 0`, and confd with etcd), each target line marked met or not.
//   start -> app running, 1/10/100 etcd resources   vs `node -e 0` and `confd -onetime && app`
//   `steward -- true`, whole process                 vs `node -e 0`; exec -> app running beside it
//   idle RSS, 10 resources                           vs a bare, idle Node
//   idle RSS, 1,000 resources / 10,000 keys          vs tini + `confd -watch`
//   key write -> SIGHUP, 1 resource; CPU per change with 1,000 resources   vs `confd -watch`
// Samples alternate between steward and its yardstick, so a change in the machine's load falls
// on both. confd is looked for in $BENCH_CONFD, then on PATH; without it the confd rows print
// "confd not built" (docs/benchmarks.md says how to build it). Needs etcd, perl, tini.
// Run: npm run bench -- startup    (BENCH_RUNS=15 start-ups per series by default)

import { loadavg } from 'node:os';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEtcd, type EtcdServer } from '../test/support/etcd.ts';
import { childrenOf } from '../test/support/steward.ts';
import { commandExists, confdir, cpuSeconds, fill, rssMb, start, timed, type Running } from './processes.ts';
import { percentile } from './support.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const STEWARD = join(ROOT, 'bin', 'steward');
const SIGNAL_APP = join(ROOT, 'bench', 'fixtures', 'signal-app.pl');
const NODE = process.execPath;
const RUNS = Number(process.env['BENCH_RUNS'] ?? 15);
const RELOADS = Number(process.env['BENCH_RELOADS'] ?? 100);
const IDLE_MS = 4000;
const DATE = ['/bin/date', '+%s%N'];

function confdBinary(): string | undefined {
  const named = process.env['BENCH_CONFD'];
  if (named !== undefined && named !== '') return named;
  return commandExists('confd') ? 'confd' : undefined;
}

const p50 = (xs: readonly number[]): number => percentile(xs, 50);
const sleep = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));

interface Env {
  readonly etcd: EtcdServer;
  readonly confd: string | undefined;
  readonly socketDir: string;
}

function stewardEnv(env: Env, dir: string | undefined, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const backend = dir === undefined ? {} : { CONFD_CONFDIR: dir, CONFD_BACKEND: 'etcd', CONFD_NODE: env.etcd.endpoint };
  // A control socket of its own, as in a container, without touching /run/steward.sock.
  return { ...process.env, STEWARD_LOG_LEVEL: 'warn', STEWARD_CONTROL_SOCKET: join(env.socketDir, 'steward.sock'), ...backend, ...extra };
}

function confdArgs(env: Env, dir: string, mode: '-onetime' | '-watch'): string[] {
  return [env.confd ?? 'confd', mode, '-backend', 'etcdv3', '-node', env.etcd.endpoint, '-confdir', dir, '-log-level', 'error'];
}

/** Each series' samples, taken in turn: A B C A B C ... (after one warm-up round). */
async function interleaved(series: readonly (() => Promise<number>)[], runs: number): Promise<number[][]> {
  const out = series.map(() => [] as number[]);
  for (let i = 0; i < runs + 1; i++) {
    for (const [j, s] of series.entries()) {
      const v = await s();
      if (i > 0) out[j]?.push(v);
    }
  }
  return out;
}

interface Row {
  readonly measure: string;
  readonly steward: string;
  readonly reference: string;
  readonly ratio: string;
  readonly target: string;
  readonly met: string;
}

const f = (n: number, d = 1): string => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
const verdict = (ok: boolean | undefined): string => (ok === undefined ? 'n/a' : ok ? 'met' : 'NOT MET');
const NO_CONFD = 'confd not built';

async function startups(env: Env, rows: Row[]): Promise<void> {
  const dirs = new Map<number, string>();
  for (const n of [1, 10, 100]) {
    await fill(env.etcd, `/bench/s${n}`, n, 10);
    dirs.set(n, confdir({ resources: n, prefix: `/bench/s${n}` }));
  }
  const node = async (): Promise<number> => (await timed([NODE, '-e', '0'])).wallMs;
  const steward = (n: number) => async (): Promise<number> => (await timed([STEWARD, ...DATE], stewardEnv(env, dirs.get(n)))).appMs;
  const confd = (n: number) => async (): Promise<number> =>
    (await timed(['sh', '-c', `"$@" && exec ${DATE.join(' ')}`, 'sh', ...confdArgs(env, dirs.get(n) ?? '', '-onetime')])).appMs;
  for (const n of [1, 10, 100]) {
    const series = env.confd === undefined ? [steward(n), node] : [steward(n), node, confd(n)];
    const [s = [], b = [], c = []] = await interleaved(series, RUNS);
    const vsNode = p50(s) / p50(b);
    const vsConfd = p50(s) / p50(c);
    const label = `start -> app running, ${n} etcd resource${n === 1 ? '' : 's'} (p50)`;
    rows.push({
      measure: label,
      steward: `${f(p50(s))} ms`,
      reference: `node -e 0: ${f(p50(b))} ms`,
      ratio: `${f(vsNode, 2)}x`,
      target: n === 10 ? '<= 2.5x node' : '',
      met: n === 10 ? verdict(vsNode <= 2.5) : '',
    });
    rows.push({
      measure: `  same, vs confd -onetime && app`,
      steward: '',
      reference: env.confd === undefined ? NO_CONFD : `${f(p50(c))} ms`,
      ratio: env.confd === undefined ? 'n/a' : `${f(vsConfd, 2)}x`,
      target: n === 100 ? '<= 1.5x confd' : '',
      met: n === 100 ? verdict(env.confd === undefined ? undefined : vsConfd <= 1.5) : '',
    });
  }
}

async function pureInit(env: Env, rows: Row[]): Promise<void> {
  const whole = async (): Promise<number> => (await timed([STEWARD, '--', 'true'], stewardEnv(env, undefined))).wallMs;
  const node = async (): Promise<number> => (await timed([NODE, '-e', '0'])).wallMs;
  const toApp = async (): Promise<number> => (await timed([STEWARD, '--', ...DATE], stewardEnv(env, undefined))).appMs;
  const [w = [], b = [], a = []] = await interleaved([whole, node, toApp], RUNS * 2);
  const ratio = p50(w) / p50(b);
  rows.push({ measure: 'pure init: steward -- true, whole process (p50)', steward: `${f(p50(w))} ms`, reference: `node -e 0: ${f(p50(b))} ms`, ratio: `${f(ratio, 2)}x`, target: '<= 1.3x node', met: verdict(ratio <= 1.3) });
  rows.push({ measure: '  exec -> app running, steward -- app (p50)', steward: `${f(p50(a))} ms`, reference: `node -e 0: ${f(p50(b))} ms`, ratio: `${f(p50(a) / p50(b), 2)}x`, target: '', met: '' });
}

/** RSS of `r`'s process, or of it and its children, after it has been idle. */
async function idleRss(r: Running, withChildren = false): Promise<number> {
  await sleep(IDLE_MS);
  const pids = withChildren ? [r.pid, ...childrenOf(r.pid)] : [r.pid];
  return pids.reduce((sum, pid) => sum + rssMb(pid), 0);
}

async function waitForFiles(dir: string, count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (readdirSync(dir).filter((f) => f.endsWith('.conf')).length < count && Date.now() < deadline) await sleep(100);
}

async function memory(env: Env, rows: Row[], big: string): Promise<void> {
  const bare = start([NODE, '-e', 'setInterval(() => {}, 1e9)']);
  const bareRss = await idleRss(bare);
  await bare.stop();
  const ten = confdir({ resources: 10, prefix: '/bench/s10' });
  const s10 = start([STEWARD, 'perl', SIGNAL_APP], stewardEnv(env, ten));
  await s10.line();
  const rss10 = await idleRss(s10);
  await s10.stop();
  rows.push({ measure: 'idle RSS, 10 etcd resources', steward: `${f(rss10)} MB`, reference: `bare node: ${f(bareRss)} MB`, ratio: `+${f(rss10 - bareRss)} MB`, target: '<= +12 MB', met: verdict(rss10 - bareRss <= 12) });

  const sBig = start([STEWARD, 'perl', SIGNAL_APP], stewardEnv(env, big));
  await sBig.line();
  const rssBig = await idleRss(sBig);
  await sBig.stop();
  let confdRss = Number.NaN;
  if (env.confd !== undefined) {
    const cBig = confdir({ resources: 1000, prefix: '/bench/big' });
    const c = start(['tini', '-s', '--', ...confdArgs(env, cBig, '-watch')]);
    await waitForFiles(join(cBig, 'out'), 1000, 60_000);
    confdRss = await idleRss(c, true);
    await c.stop();
  }
  rows.push({
    measure: 'idle RSS, 1,000 resources / 10,000 keys',
    steward: `${f(rssBig)} MB`,
    reference: env.confd === undefined ? NO_CONFD : `tini + confd: ${f(confdRss)} MB`,
    ratio: env.confd === undefined ? 'n/a' : `${f(rssBig / confdRss, 2)}x`,
    target: '<= tini + confd',
    met: verdict(env.confd === undefined ? undefined : rssBig <= confdRss),
  });
}

interface Watcher {
  readonly app: Running;
  readonly cpuPid: number;
  stop(): Promise<void>;
}

/** steward with the perl app, reloading it itself at once (STEWARD_WAIT=0). */
async function stewardWatcher(env: Env, dir: string): Promise<Watcher> {
  const app = start([STEWARD, 'perl', SIGNAL_APP], stewardEnv(env, dir, { STEWARD_WAIT: '0' }));
  await app.line();
  return { app, cpuPid: app.pid, stop: () => app.stop() };
}

/** The perl app alone, and `confd -watch` reloading it with `kill -HUP`. */
async function confdWatcher(env: Env, resources: number, prefix: string): Promise<Watcher> {
  const app = start(['perl', SIGNAL_APP]);
  await app.line();
  const dir = confdir({ resources, prefix, reloadCmd: `kill -HUP ${app.pid}` });
  const confd = start(confdArgs(env, dir, '-watch'));
  await waitForFiles(join(dir, 'out'), resources, 60_000);
  // confd's first pass reloads the app once per resource; let those lines go.
  await sleep(1000);
  return { app, cpuPid: confd.pid, stop: async () => { await confd.stop(); await app.stop(); } };
}

/** Key write -> the app's SIGHUP handler, ms, for each watcher in turn. */
async function reloads(env: Env, watchers: readonly Watcher[], keys: readonly string[], count: number): Promise<{ ms: number[][]; cpuMs: number[] }> {
  const ms = watchers.map(() => [] as number[]);
  const cpu0 = watchers.map((w) => cpuSeconds(w.cpuPid));
  // Drain lines left from start-up reloads.
  for (let i = 0; i < count + 5; i++) {
    for (const [j, w] of watchers.entries()) {
      const t0 = process.hrtime.bigint();
      await env.etcd.put(keys[j] ?? '', `changed-${i}`);
      let handled = BigInt((await w.app.line()).trim());
      while (handled < t0) handled = BigInt((await w.app.line()).trim());
      if (i >= 5) ms[j]?.push(Number(handled - t0) / 1e6);
    }
  }
  const cpuMs = watchers.map((w, j) => ((cpuSeconds(w.cpuPid) - (cpu0[j] ?? 0)) * 1000) / (count + 5));
  return { ms, cpuMs };
}

async function reloadRows(env: Env, rows: Row[], big: string): Promise<void> {
  await fill(env.etcd, '/bench/one-s', 1, 5);
  await fill(env.etcd, '/bench/one-c', 1, 5);
  const s = await stewardWatcher(env, confdir({ resources: 1, prefix: '/bench/one-s' }));
  const c = env.confd === undefined ? undefined : await confdWatcher(env, 1, '/bench/one-c');
  const small = await reloads(env, c === undefined ? [s] : [s, c], ['/bench/one-s/r0/k0', '/bench/one-c/r0/k0'], RELOADS);
  await s.stop();
  await c?.stop();
  const [sl = [], cl = []] = small.ms;
  rows.push({
    measure: 'key write -> SIGHUP p50, 1 resource',
    steward: `${f(p50(sl), 2)} ms`,
    reference: c === undefined ? NO_CONFD : `confd -watch: ${f(p50(cl), 2)} ms`,
    ratio: c === undefined ? 'n/a' : `${f(p50(sl) / p50(cl), 2)}x`,
    target: 'ahead of confd',
    met: verdict(c === undefined ? undefined : p50(sl) < p50(cl)),
  });
  // One at a time: both watch the same 10,000 keys, and a write would wake both.
  const sBig = await stewardWatcher(env, big);
  const sCpu = (await reloads(env, [sBig], ['/bench/big/r500/k3'], RELOADS / 2)).cpuMs[0] ?? Number.NaN;
  await sBig.stop();
  let cCpu = Number.NaN;
  if (env.confd !== undefined) {
    const cBig = await confdWatcher(env, 1000, '/bench/big');
    cCpu = (await reloads(env, [cBig], ['/bench/big/r500/k3'], RELOADS / 2)).cpuMs[0] ?? Number.NaN;
    await cBig.stop();
  }
  rows.push({
    measure: 'CPU per change, 1,000 resources',
    steward: `${f(sCpu, 2)} ms`,
    reference: env.confd === undefined ? NO_CONFD : `confd -watch: ${f(cCpu, 2)} ms`,
    ratio: env.confd === undefined ? 'n/a' : `${f(sCpu / cCpu, 2)}x`,
    target: 'ahead of confd',
    met: verdict(env.confd === undefined ? undefined : sCpu < cCpu),
  });
}

function print(rows: readonly Row[]): void {
  const header = ['measure', 'steward', 'reference', 'ratio', 'target', 'target met'];
  const cells = rows.map((r) => [r.measure, r.steward, r.reference, r.ratio, r.target, r.met]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: readonly string[]): string => `| ${c.map((x, i) => x.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  console.log(line(header));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const c of cells) console.log(line(c));
}

async function main(): Promise<void> {
  for (const tool of ['perl', 'tini']) if (!commandExists(tool)) throw new Error(`${tool} is needed for this benchmark`);
  const load0 = loadavg()[0] ?? Number.NaN;
  const etcd = await startEtcd();
  const env: Env = { etcd, confd: confdBinary(), socketDir: mkdtempSync(join(tmpdir(), 'steward-bench-sock-')) };
  const rows: Row[] = [];
  try {
    await fill(etcd, '/bench/big', 1000, 10);
    const big = confdir({ resources: 1000, prefix: '/bench/big' });
    await startups(env, rows);
    await pureInit(env, rows);
    await memory(env, rows, big);
    await reloadRows(env, rows, big);
  } finally {
    await etcd.stop();
  }
  const load1 = loadavg()[0] ?? Number.NaN;
  console.log(`node ${process.version}, etcd on loopback, ${RUNS} start-ups per series; confd: ${env.confd ?? NO_CONFD}`);
  console.log(`load average (1 min) at start ${f(load0, 2)}, at end ${f(load1, 2)}`);
  print(rows);
}

await main();
