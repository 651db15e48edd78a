// What watching the app's health costs: steward runs a small HTTP app and checks it every second
// (STEWARD_HEALTH_INTERVAL=1s) by HTTP, by TCP and by a command (and, as a baseline, not at
// all), and this measures steward's CPU
// time (its own, and with the check commands it reaped) and resident memory over the run.
// Targets: under 0.5% of one core, no RSS growth. Default 60 s per kind; `--minutes 10` for the
// long run, `--only http` for one kind. `--against DIR` runs another build of steward (a copy of
// bin/ and dist/ with node_modules beside them) side by side with this one, kind by kind, so that
// both see the same load on a shared machine: a paired before/after.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i === -1 ? undefined : args[i + 1];
};
const seconds = Number(flag('--minutes') ?? 1) * 60;
const only = flag('--only');
const against = flag('--against');
const TICKS = 100; // USER_HZ on Linux
const SAMPLE_MS = 5000;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

/** utime + stime, and cutime + cstime (reaped children: the check commands), in seconds. */
function cpu(pid: number): { own: number; children: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  // Fields 14-17 of stat, counted from field 3 (state) here.
  return { own: ((f[11] ?? 0) + (f[12] ?? 0)) / TICKS, children: ((f[13] ?? 0) + (f[14] ?? 0)) / TICKS };
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) / 1024;
}

const APP = `require('http').createServer((q, s) => s.end('ok')).listen(Number(process.env.PORT), '127.0.0.1')`;

type Kind = 'none' | 'http' | 'tcp' | 'command';

async function measure(kind: Kind, build: string): Promise<string[]> {
  const port = await freePort();
  const check: Record<string, string> =
    kind === 'none' ? {}
    : kind === 'http' ? { STEWARD_HEALTH_HTTP: `http://127.0.0.1:${port}/` }
    : kind === 'tcp' ? { STEWARD_HEALTH_TCP: `127.0.0.1:${port}` }
    : { STEWARD_HEALTH_CMD: 'true' };
  const steward = spawn(join(build, 'bin', 'steward'), [process.execPath, '-e', APP], {
    env: { ...process.env, PORT: String(port), STEWARD_HEALTH_INTERVAL: '1s', STEWARD_HEALTH_START_PERIOD: '5s', STEWARD_LOG_LEVEL: 'warn', ...check },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const pid = steward.pid ?? 0;
  // Past start-up and the start-up memory release (3 s after the app starts).
  await sleep(8000);
  const start = cpu(pid);
  const rss: number[] = [rssMb(pid)];
  const began = performance.now();
  while (performance.now() - began < seconds * 1000) {
    await sleep(SAMPLE_MS);
    rss.push(rssMb(pid));
  }
  const end = cpu(pid);
  const wall = (performance.now() - began) / 1000;
  steward.kill('SIGTERM');
  await new Promise((resolve) => steward.once('exit', resolve));
  const pct = (s: number): string => `${((100 * s) / wall).toFixed(3)}%`;
  const half = Math.floor(rss.length / 2);
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  return [
    against === undefined ? kind : `${kind} (${build === root ? 'this' : 'against'})`,
    pct(end.own - start.own),
    pct(end.own - start.own + end.children - start.children),
    (rss[0] ?? 0).toFixed(1),
    (rss.at(-1) ?? 0).toFixed(1),
    Math.max(...rss).toFixed(1),
    (mean(rss.slice(half)) - mean(rss.slice(0, half))).toFixed(2),
  ];
}

const rows: string[][] = [];
// `none` is the baseline: steward supervising the same app with no check at all.
for (const kind of ['none', 'http', 'tcp', 'command'] as const) {
  if (only !== undefined && only !== kind) continue;
  if (against === undefined) rows.push(await measure(kind, root));
  else rows.push(...(await Promise.all([measure(kind, against), measure(kind, root)])));
}
const head = ['check', 'steward CPU', 'with checks', 'RSS first MB', 'RSS last MB', 'RSS max MB', 'RSS 2nd-1st half MB'];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
process.stdout.write(`a check every second for ${seconds} s per kind; load average at the end ${load}\n\n${line(head)}\n${line(widths.map((w) => '-'.repeat(w)))}\n${rows.map(line).join('\n')}\n`);
