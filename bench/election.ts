// Election benchmark: failover (leader killed with SIGKILL -> the new leader's hook running) and
// handover (SIGTERM to the leader -> the new leader's hook running), for etcd and the shared
// directory, with a short TTL so that runs stay quick. Failover is bounded by the TTL (the dead
// leader's lease must expire); handover is not (the leader resigns).
// Run: npm run bench -- election   (needs etcd)

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterLog, leaders, rolesOf, startReplica } from '../test/support/cluster.ts';
import { startEtcd } from '../test/support/etcd.ts';
import { stopAllStewards } from '../test/support/steward.ts';
import { percentile } from './support.ts';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 5);
const TTL_MS = Number(process.env['BENCH_TTL_MS'] ?? 3000);

async function measure(env: (election: string) => Record<string, string>, signal: 'SIGKILL' | 'SIGTERM'): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const log = clusterLog();
    const election = `bench-${signal}-${i}-${Date.now()}`;
    const a = startReplica('a', env(election), log);
    await log.until('a to lead', (e) => leaders(e).includes('a'));
    startReplica('b', env(election), log);
    await log.until('b to follow', (e) => rolesOf(e).get('b') === 'follower');
    const sent = Date.now();
    await a.signal(signal);
    const entries = await log.until('b to lead', (e) => leaders(e).includes('b'), TTL_MS * 4 + 10_000);
    const bLeads = entries.find((e) => e.id === 'b' && e.event === 'leader');
    samples.push((bLeads?.at ?? Number.NaN) - sent);
    await stopAllStewards();
  }
  return samples;
}

const fmt = (n: number): string => (Number.isFinite(n) ? n.toFixed(0) : 'n/a');

async function main(): Promise<void> {
  const etcd = await startEtcd();
  const dir = mkdtempSync(join(tmpdir(), 'steward-bench-locks-'));
  try {
    const backends: [string, (election: string) => Record<string, string>][] = [
      ['etcd', (election) => ({ STEWARD_ELECTION: election, STEWARD_ELECTION_BACKEND: 'etcd', CONFD_NODE: etcd.endpoint, STEWARD_ELECTION_TTL: `${TTL_MS}ms` })],
      ['file', (election) => ({ STEWARD_ELECTION: election, STEWARD_LOCK_DIR: dir, STEWARD_ELECTION_TTL: `${TTL_MS}ms` })],
    ];
    console.log(`TTL ${TTL_MS} ms, ${ROUNDS} rounds each, times from the signal to the new leader's hook`);
    console.log('| backend | failover p50 ms | failover max ms | handover p50 ms | handover max ms |');
    console.log('| ------- | --------------- | --------------- | --------------- | --------------- |');
    for (const [name, env] of backends) {
      const failover = await measure(env, 'SIGKILL');
      const handover = await measure(env, 'SIGTERM');
      console.log(`| ${name.padEnd(7)} | ${fmt(percentile(failover, 50)).padEnd(15)} | ${fmt(Math.max(...failover)).padEnd(15)} | ${fmt(percentile(handover, 50)).padEnd(15)} | ${fmt(Math.max(...handover)).padEnd(15)} |`);
    }
  } finally {
    await stopAllStewards();
    await etcd.stop();
  }
}

await main();
