// Memory over time: steward against a real etcd, with a key change every 100 ms (each one a render
// and a SIGHUP to the app, STEWARD_WAIT=0) and a job every 5 s, for 30 minutes by default. RSS is
// sampled every 10 s; after the warm-up (the first sixth of the run) its least-squares slope is the
// figure to watch (target: below 1 MB per hour). The JS heap (from /metrics) is reported at the end
// of the warm-up and at the end of the run.
//   node bench/soak.ts               30 minutes (npm run bench -- soak)
//   node bench/soak.ts --minutes 60
//   node bench/soak.ts --seconds 60  the short mode CI runs: it must complete and report; its
//                                    slope over so short a run says little
// Needs etcd and perl.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEtcd } from '../test/support/etcd.ts';
import { confdir, fill, rssMb, start } from './processes.ts';
import { durationMs, freePort } from './support.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const STEWARD = join(ROOT, 'bin', 'steward');
const SIGNAL_APP = join(ROOT, 'bench', 'fixtures', 'signal-app.pl');
const CHANGE_EVERY_MS = 100;
const SAMPLE_EVERY_MS = 10_000;
const RESOURCES = 10;

async function heapUsedMb(metricsPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  return Number(/nodejs_heap_size_used_bytes\s+(\d+(?:\.\d+)?(?:e\+?\d+)?)/.exec(text)?.[1] ?? Number.NaN) / 2 ** 20;
}

/** Least-squares slope of (hours, MB) points, in MB per hour. */
function slopePerHour(points: readonly (readonly [number, number])[]): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxy / sxx;
}

const f = (n: number, d = 1): string => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
const sleep = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));

async function main(): Promise<void> {
  const totalMs = durationMs(process.argv.slice(2), 30 * 60_000);
  const warmUpMs = totalMs / 6;
  const etcd = await startEtcd();
  const work = mkdtempSync(join(tmpdir(), 'steward-soak-'));
  const jobLog = join(work, 'jobs.log');
  writeFileSync(jobLog, '');
  try {
    await fill(etcd, '/soak', RESOURCES, 10);
    const dir = confdir({ resources: RESOURCES, prefix: '/soak' });
    const metricsPort = await freePort();
    const steward = start([STEWARD, 'perl', SIGNAL_APP], {
      ...process.env,
      CONFD_CONFDIR: dir,
      CONFD_BACKEND: 'etcd',
      CONFD_NODE: etcd.endpoint,
      STEWARD_WAIT: '0',
      STEWARD_LOG_LEVEL: 'warn',
      STEWARD_CONTROL_SOCKET: join(work, 'steward.sock'),
      STEWARD_METRICS_ADDR: `127.0.0.1:${metricsPort}`,
      STEWARD_JOB_SOAK_SCHEDULE: '*/5 * * * * *',
      STEWARD_JOB_SOAK_COMMAND: `sh -c 'date +%s >> ${jobLog}'`,
    });
    await steward.line();
    let reloads = 0;
    void (async () => {
      for (;;) {
        await steward.line();
        reloads++;
      }
    })();
    const t0 = performance.now();
    const samples: [number, number][] = [];
    let changes = 0;
    let heapBefore = Number.NaN;
    let nextSample = 0;
    while (performance.now() - t0 < totalMs) {
      const elapsed = performance.now() - t0;
      if (elapsed >= nextSample) {
        samples.push([elapsed / 3_600_000, rssMb(steward.pid)]);
        nextSample += SAMPLE_EVERY_MS;
      }
      if (Number.isNaN(heapBefore) && elapsed >= warmUpMs) heapBefore = await heapUsedMb(metricsPort);
      await etcd.put(`/soak/r${changes % RESOURCES}/k${changes % 7}`, `v${changes}`);
      changes++;
      await sleep(CHANGE_EVERY_MS);
    }
    const heapAfter = await heapUsedMb(metricsPort);
    samples.push([(performance.now() - t0) / 3_600_000, rssMb(steward.pid)]);
    const alive = steward.proc.exitCode === null && steward.proc.signalCode === null;
    await steward.stop();
    const jobs = readFileSync(jobLog, 'utf8').split('\n').filter(Boolean).length;
    const after = samples.filter(([h]) => h * 3_600_000 >= warmUpMs);
    const rss = samples.map(([, mb]) => mb);
    const slope = slopePerHour(after);
    console.log(`soak: ${f(totalMs / 60_000, 1)} min (warm-up ${f(warmUpMs / 60_000, 1)} min), node ${process.version}, load average ${loadavg().map((l) => f(l, 2)).join(' ')}`);
    console.log(`key changes ${changes}, reloads seen by the app ${reloads}, job runs ${jobs}, steward ${alive ? 'alive' : 'EXITED'} at the end`);
    console.log(`RSS MB: first ${f(rss[0] ?? Number.NaN)}, after warm-up ${f(after[0]?.[1] ?? Number.NaN)}, last ${f(rss.at(-1) ?? Number.NaN)}, max ${f(Math.max(...rss))}`);
    console.log(`RSS slope after warm-up: ${f(slope, 2)} MB/hour over ${after.length} samples (target < 1 MB/hour: ${slope < 1 ? 'met' : 'NOT MET'})`);
    console.log(`JS heap used MB: after warm-up ${f(heapBefore)}, at the end ${f(heapAfter)}`);
    if (!alive || reloads === 0 || jobs === 0) process.exitCode = 1;
  } finally {
    await etcd.stop();
  }
}

await main();
