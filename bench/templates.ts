// Templates benchmark, against a real etcd on loopback:
//   reload latency   key written -> SIGHUP handled by the app, STEWARD_WAIT=0 (p50/p99)
//   start-up         exec of steward -> app running, with 10 resources rendered from etcd
//   large            1,000 resources over 10,000 keys: time to the app running, RSS while idle,
//                    and the cost of one key change (write -> SIGHUP) with only its dependent rendered
// Run: npm run bench -- templates   (needs etcd, perl)

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEtcd, type EtcdServer } from '../test/support/etcd.ts';
import { fill } from './processes.ts';
import { lineQueue, percentile } from './support.ts';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const STEWARD = join(root, 'bin', 'steward');
const SIGNAL_APP = join(root, 'bench', 'fixtures', 'signal-app.pl');
const SAMPLES = Number(process.env['BENCH_SAMPLES'] ?? 200);
const RUNS = Number(process.env['BENCH_RUNS'] ?? 15);

function confdir(resources: number, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'steward-bench-'));
  mkdirSync(join(dir, 'conf.d'));
  mkdirSync(join(dir, 'templates'));
  mkdirSync(join(dir, 'out'));
  writeFileSync(
    join(dir, 'templates', 'r.tmpl'),
    '{{ range gets "/*" }}{{ base .Key }} = {{ .Value }}\n{{ end }}count {{ len (ls "/") }}\n',
  );
  for (let r = 0; r < resources; r++) {
    writeFileSync(
      join(dir, 'conf.d', `r${r}.toml`),
      `[template]\nsrc = "r.tmpl"\ndest = "${join(dir, 'out', `r${r}.conf`)}"\nprefix = "${prefix}/r${r}"\nkeys = ["/"]\n`,
    );
  }
  return dir;
}

interface Run {
  proc: ChildProcess;
  line(): Promise<string>;
  pid(): number;
}

function run(args: readonly string[], env: Record<string, string>): Run {
  const proc = spawn(STEWARD, [...args], { env: { ...process.env, STEWARD_LOG_LEVEL: process.env['BENCH_LOG_LEVEL'] ?? 'info', ...env }, stdio: ['ignore', 'pipe', 'ignore'] });
  return {
    proc,
    line: lineQueue(proc.stdout),
    pid: () => proc.pid ?? -1,
  };
}

async function stop(r: Run): Promise<void> {
  r.proc.kill('SIGTERM');
  if (r.proc.exitCode === null) await new Promise((res) => r.proc.once('exit', res));
}

async function reloadLatency(etcd: EtcdServer, dir: string, key: string, samples: number): Promise<number[]> {
  const r = run(['perl', SIGNAL_APP], { CONFD_CONFDIR: dir, CONFD_BACKEND: 'etcd', CONFD_NODE: etcd.endpoint, STEWARD_WAIT: '0' });
  await r.line();
  const out: number[] = [];
  for (let i = 0; i < samples + 10; i++) {
    const t0 = process.hrtime.bigint();
    await etcd.put(key, `changed-${i}`);
    const handled = BigInt((await r.line()).trim());
    if (i >= 10) out.push(Number(handled - t0) / 1e6);
  }
  await stop(r);
  return out;
}

async function startup(etcd: EtcdServer, dir: string, runs: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < runs + 2; i++) {
    const t0 = performance.timeOrigin + performance.now();
    const r = run(['/bin/date', '+%s%N'], { CONFD_CONFDIR: dir, CONFD_BACKEND: 'etcd', CONFD_NODE: etcd.endpoint });
    const appNs = Number((await r.line()).trim());
    await new Promise((res) => r.proc.once('exit', res));
    if (i >= 2) out.push(appNs / 1e6 - t0);
  }
  return out;
}

async function idleRssMb(backendEnv: Record<string, string>, dir: string): Promise<number> {
  const r = run(['perl', SIGNAL_APP], { CONFD_CONFDIR: dir, ...backendEnv });
  await r.line();
  await new Promise((res) => setTimeout(res, 4000));
  // bin/steward execs node: the pid is steward's.
  const status = readFileSync(`/proc/${r.pid()}/status`, 'utf8');
  await stop(r);
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN) / 1024;
}

const fmt = (n: number, d = 1): string => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');

async function main(): Promise<void> {
  const etcd = await startEtcd();
  try {
    const small = confdir(1, '/bench/small');
    await fill(etcd, '/bench/small', 1, 5);
    const lat = await reloadLatency(etcd, small, '/bench/small/r0/k0', SAMPLES);

    const ten = confdir(10, '/bench/ten');
    await fill(etcd, '/bench/ten', 10, 10);
    const start10 = await startup(etcd, ten, RUNS);

    const big = confdir(1000, '/bench/big');
    await fill(etcd, '/bench/big', 1000, 10);
    const startBig = await startup(etcd, big, 3);
    const rssBig = await idleRssMb({ CONFD_BACKEND: 'etcd', CONFD_NODE: etcd.endpoint }, big);
    const yaml = ['bench:', '  big:'];
    for (let r = 0; r < 1000; r++) {
      yaml.push(`    r${r}:`);
      for (let k = 0; k < 10; k++) yaml.push(`      k${k}: value-${r}-${k}`);
    }
    const valuesFile = join(big, 'values.yaml');
    writeFileSync(valuesFile, `${yaml.join('\n')}\n`);
    const rssBigFile = await idleRssMb({ CONFD_BACKEND: 'file', CONFD_FILE: valuesFile }, big);
    const latBig = await reloadLatency(etcd, big, '/bench/big/r500/k3', 50);

    const rows: [string, string, string][] = [
      ['key write -> SIGHUP, 1 resource (STEWARD_WAIT=0)', `p50 ${fmt(percentile(lat, 50), 2)} ms, p99 ${fmt(percentile(lat, 99), 2)} ms`, 'p50 <= 10 ms, p99 <= 25 ms'],
      ['start -> app running, 10 resources from etcd', `p50 ${fmt(percentile(start10, 50))} ms, max ${fmt(Math.max(...start10))} ms`, '<= 400 ms'],
      ['start -> app running, 1,000 resources / 10,000 keys', `p50 ${fmt(percentile(startBig, 50))} ms`, ''],
      ['idle RSS, 1,000 resources / 10,000 keys, etcd', `${fmt(rssBig)} MB`, '<= 80 MB'],
      ['idle RSS, 1,000 resources / 10,000 keys, file', `${fmt(rssBigFile)} MB`, '<= 80 MB'],
      ['one key change -> SIGHUP, 1,000 resources', `p50 ${fmt(percentile(latBig, 50), 2)} ms, p99 ${fmt(percentile(latBig, 99), 2)} ms`, 'only the dependent renders'],
    ];
    const w = [Math.max(...rows.map((r) => r[0].length)), Math.max(...rows.map((r) => r[1].length)), Math.max(...rows.map((r) => r[2].length), 6)];
    const line = (c: readonly string[]): string => `| ${c.map((x, i) => x.padEnd(w[i] ?? 0)).join(' | ')} |`;
    console.log(`etcd ${etcd.endpoint}, node ${process.version}`);
    console.log(line(['measure', 'result', 'target']));
    console.log(line(w.map((n) => '-'.repeat(n))));
    for (const r of rows) console.log(line(r));
  } finally {
    await etcd.stop();
  }
}

await main();
