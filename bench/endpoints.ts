// The cost of the operator's endpoints: two stewards side by side on the same configuration (one
// file-backend resource, an idle app), one without endpoints, one with STEWARD_STATUS_ADDR and
// STEWARD_METRICS_ADDR scraped every second (/metrics, /status and /healthz). Reports each one's
// CPU over the run (share of one core) and its RSS at the end. Targets: CPU < 1% of a core, RSS
// within 5 MB of the run without endpoints.
//
//   node bench/endpoints.ts              30 s (the default)
//   node bench/endpoints.ts --minutes 10 the 10 minutes

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { durationMs, freePort } from './support.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const STEWARD = join(ROOT, 'bin', 'steward');
const WARM_UP_MS = 5000;
/** USER_HZ on Linux. */
const TICKS_PER_SECOND = 100;

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the command.
  return Number(fields[11]) + Number(fields[12]);
}

function rssMb(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? Number.NaN) / 1024;
}

function config(): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'steward-bench-endpoints-'));
  mkdirSync(join(dir, 'conf.d'));
  mkdirSync(join(dir, 'templates'));
  writeFileSync(join(dir, 'conf.d', 'app.toml'), `[template]\nsrc = "app.tmpl"\ndest = "${dir}/app.conf"\nkeys = ["/app"]\n`);
  writeFileSync(join(dir, 'templates', 'app.tmpl'), 'host={{ getv "/app/host" }}\n');
  writeFileSync(join(dir, 'values.yaml'), 'app:\n  host: db1\n');
  return { CONFD_CONFDIR: dir, CONFD_BACKEND: 'file', CONFD_FILE: join(dir, 'values.yaml'), STEWARD_CONTROL_SOCKET: join(dir, 'steward.sock') };
}

function start(env: Record<string, string>): ChildProcess {
  // bin/steward execs node: the child's pid is steward's.
  return spawn(STEWARD, ['sleep', '1000000'], { env: { ...process.env, STEWARD_LOG_LEVEL: 'warn', ...env }, stdio: 'ignore' });
}

async function main(): Promise<void> {
  const ms = durationMs(process.argv.slice(2), 30_000);
  const statusPort = await freePort();
  const metricsPort = await freePort();
  const plain = start(config());
  const served = start({ ...config(), STEWARD_STATUS_ADDR: String(statusPort), STEWARD_METRICS_ADDR: String(metricsPort) });
  await new Promise((r) => setTimeout(r, WARM_UP_MS));
  const pids = [plain.pid ?? 0, served.pid ?? 0];
  const before = pids.map(cpuTicks);
  let scrapes = 0;
  let failures = 0;
  const scrape = setInterval(() => {
    for (const url of [`http://127.0.0.1:${metricsPort}/metrics`, `http://127.0.0.1:${statusPort}/status`, `http://127.0.0.1:${statusPort}/healthz`]) {
      fetch(url).then(
        async (res) => {
          await res.text();
          if (res.ok) scrapes++;
          else failures++;
        },
        () => failures++,
      );
    }
  }, 1000);
  await new Promise((r) => setTimeout(r, ms));
  clearInterval(scrape);
  const cpu = pids.map((pid, i) => ((cpuTicks(pid) - (before[i] ?? 0)) / TICKS_PER_SECOND / (ms / 1000)) * 100);
  const rss = pids.map(rssMb);
  plain.kill('SIGTERM');
  served.kill('SIGTERM');
  const fmt = (n: number | undefined, d = 2): string => (n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(d));
  const rows = [
    ['run', 'CPU % of a core', 'RSS MB'],
    ['no endpoints', fmt(cpu[0]), fmt(rss[0], 1)],
    ['status + metrics, scraped 1/s', fmt(cpu[1]), fmt(rss[1], 1)],
  ];
  process.stdout.write(`${(ms / 1000).toFixed(0)} s, ${scrapes} answers, ${failures} failures\n`);
  for (const r of rows) process.stdout.write(`| ${r.map((c, i) => c.padEnd(i === 0 ? 30 : 15)).join(' | ')} |\n`);
  const extraRss = (rss[1] ?? 0) - (rss[0] ?? 0);
  process.stdout.write(`target CPU < 1%: ${(cpu[1] ?? 100) < 1 ? 'met' : 'NOT met'}; RSS within 5 MB: ${extraRss <= 5 ? 'met' : 'NOT met'} (+${fmt(extraRss, 1)} MB)\n`);
}

await main();
