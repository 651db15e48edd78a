// What a rollout costs beyond the app's own restarts: three stewards over a shared directory
// (STEWARD_LOCK_DIR, the file backend) roll one key change out one at a time; the rollout's time,
// from the change to the last replica's release, is set against the sum of its health waits
// (each replica's stop to its new app's ready, which the lock makes sequential). Then the
// start-first handover window, in a network namespace (test/rollout/fixtures/handover-run.ts):
// the time between the new app's ready and the old one's stop. Three rounds each; needs root.

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { downIntervals, lastConfigs, logLine, rolloutLog, startWebReplica } from '../test/rollout/replicas.ts';
import { NODE, stopAllStewards } from '../test/support/steward.ts';

const ROUNDS = 3;
const IDS = ['a', 'b', 'c'];

async function oneRollout(round: number): Promise<{ totalMs: number; healthMs: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'steward-bench-rollout-'));
  const locks = join(dir, 'locks');
  mkdirSync(locks);
  const values = join(dir, 'values.yaml');
  const put = (v: string): void => {
    writeFileSync(`${values}.new`, `app:\n  config: ${v}\n`);
    renameSync(`${values}.new`, values);
  };
  put('v1');
  const log = rolloutLog();
  const env = { CONFD_BACKEND: 'file', CONFD_FILE: values, STEWARD_LOCK_DIR: locks, STEWARD_ELECTION_BACKEND: 'file', STEWARD_ELECTION_TTL: '5s' };
  try {
    const replicas = [];
    for (const id of IDS) replicas.push(await startWebReplica(id, log, env));
    for (const r of replicas) await logLine(r.steward, /"app is healthy"/);
    const from = performance.now();
    const before = log.entries().at(-1)?.at ?? 0;
    put(`v2-${round}`);
    const entries = await log.until('three apps on the new configuration', (e) => IDS.every((id) => lastConfigs(e).get(id) === `v2-${round}`));
    for (const r of replicas) await logLine(r.steward, /rollout lock released/);
    const totalMs = performance.now() - from;
    const healthMs = downIntervals(entries, before).reduce((sum, i) => sum + (i.to - i.from), 0);
    return { totalMs, healthMs };
  } finally {
    await stopAllStewards();
  }
}

function handover(): number {
  const out = execFileSync('unshare', ['--net', 'sh', '-c', 'ip link set lo up && sysctl -qw net.ipv4.tcp_migrate_req=1 && exec "$0" "$1" "$2"', NODE, join(import.meta.dirname, '..', 'test', 'rollout', 'fixtures', 'handover-run.ts'), 'start-first'], { encoding: 'utf8', timeout: 120_000 });
  const result = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as { handoverMs: number; failures: number };
  if (result.failures !== 0) throw new Error(`the handover failed ${result.failures} requests`);
  return result.handoverMs;
}

const rows: string[] = ['| round | rollout ms | sum of health waits ms | overhead ms | handover window ms |', '| --- | --- | --- | --- | --- |'];
for (let round = 1; round <= ROUNDS; round++) {
  const { totalMs, healthMs } = await oneRollout(round);
  const window = handover();
  rows.push(`| ${round} | ${totalMs.toFixed(0)} | ${healthMs.toFixed(0)} | ${(totalMs - healthMs).toFixed(0)} | ${window} |`);
}
process.stdout.write(`${rows.join('\n')}\n`);
