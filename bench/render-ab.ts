// Two builds side by side, for the render thread's costs (issue 11): key write -> SIGHUP for one
// small Go template (etcd, STEWARD_WAIT=0), and the idle RSS with 1,000 resources over 10,000
// keys (file backend). The builds alternate round by round, so that a shared machine's load
// falls on both alike; each round prints the load average it ran at.
// Run: BENCH_A=<before>/bin/steward BENCH_B=<after>/bin/steward node bench/render-ab.ts
//      (needs etcd, perl; BENCH_ROUNDS, BENCH_SAMPLES)

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEtcd } from '../test/support/etcd.ts';
import { lineQueue, percentile } from './support.ts';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const BUILDS = { A: process.env['BENCH_A'] ?? join(root, 'bin', 'steward'), B: process.env['BENCH_B'] ?? join(root, 'bin', 'steward') };
const SIGNAL_APP = join(root, 'bench', 'fixtures', 'signal-app.pl');
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 4);
const SAMPLES = Number(process.env['BENCH_SAMPLES'] ?? 50);

function confdir(resources: number, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'steward-bench-ab-'));
  for (const sub of ['conf.d', 'templates', 'out']) mkdirSync(join(dir, sub));
  writeFileSync(join(dir, 'templates', 'r.tmpl'), '{{ range gets "/*" }}{{ base .Key }} = {{ .Value }}\n{{ end }}count {{ len (ls "/") }}\n');
  for (let r = 0; r < resources; r++) {
    writeFileSync(join(dir, 'conf.d', `r${r}.toml`), `[template]\nsrc = "r.tmpl"\ndest = "${join(dir, 'out', `r${r}.conf`)}"\nprefix = "${prefix}/r${r}"\nkeys = ["/"]\n`);
  }
  return dir;
}

function start(steward: string, env: Record<string, string>) {
  const proc = spawn(steward, ['perl', SIGNAL_APP], { env: { ...process.env, STEWARD_LOG_LEVEL: 'error', ...env }, stdio: ['ignore', 'pipe', 'ignore'] });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return { proc, line: lineQueue(proc.stdout), stop: async () => (proc.kill('SIGTERM'), await exited) };
}

const etcd = await startEtcd();
try {
  const small = confdir(1, '/ab/small');
  for (let k = 0; k < 5; k++) await etcd.put(`/ab/small/r0/k${k}`, `value-${k}`);
  const big = confdir(1000, '/ab/big');
  const yaml = ['ab:', '  big:'];
  for (let r = 0; r < 1000; r++) {
    yaml.push(`    r${r}:`);
    for (let k = 0; k < 10; k++) yaml.push(`      k${k}: value-${r}-${k}`);
  }
  const values = join(big, 'values.yaml');
  writeFileSync(values, `${yaml.join('\n')}\n`);

  const latency: Record<string, number[]> = { A: [], B: [] };
  const rss: Record<string, number[]> = { A: [], B: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const build of round % 2 === 0 ? ['A', 'B'] : ['B', 'A']) {
      const steward = BUILDS[build as 'A' | 'B'];
      const s = start(steward, { CONFD_CONFDIR: small, CONFD_BACKEND: 'etcd', CONFD_NODE: etcd.endpoint, STEWARD_WAIT: '0' });
      await s.line();
      const samples: number[] = [];
      for (let i = 0; i < SAMPLES + 5; i++) {
        const t0 = process.hrtime.bigint();
        await etcd.put('/ab/small/r0/k0', `changed-${round}-${i}`);
        const handled = BigInt((await s.line()).trim());
        if (i >= 5) samples.push(Number(handled - t0) / 1e6);
      }
      await s.stop();
      latency[build]?.push(...samples);
      const idle = start(steward, { CONFD_CONFDIR: big, CONFD_BACKEND: 'file', CONFD_FILE: values });
      await idle.line();
      await new Promise((r) => setTimeout(r, 5000));
      const status = readFileSync(`/proc/${idle.proc.pid}/status`, 'utf8');
      await idle.stop();
      const mb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) / 1024;
      rss[build]?.push(mb);
      console.log(`round ${round + 1} ${build}: latency p50 ${percentile(samples, 50).toFixed(2)} ms, idle RSS ${mb.toFixed(1)} MB, load ${loadavg()[0]?.toFixed(1)}`);
    }
  }
  console.log('| build | key write -> SIGHUP p50 ms | p90 ms | p99 ms | idle RSS MB (median of rounds) |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const build of ['A', 'B'] as const) {
    const l = latency[build] ?? [];
    console.log(`| ${build} ${BUILDS[build]} | ${percentile(l, 50).toFixed(2)} | ${percentile(l, 90).toFixed(2)} | ${percentile(l, 99).toFixed(2)} | ${percentile(rss[build] ?? [], 50).toFixed(1)} |`);
  }
} finally {
  await etcd.stop();
}
