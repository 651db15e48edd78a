// Election scenarios run against every coordinator (etcd, Consul double, shared directory) with
// real steward processes; see e2e-*.test.ts. Each checks what an operator would: who leads,
// how fast a new leader appears, and that no leader action of one replica starts inside
// another replica's leadership.

import assert from 'node:assert/strict';
import { afterEach, it } from 'node:test';
import { clusterLog, leaders, overlaps, rolesOf, startedUp, startReplica, type ClusterLog } from '../support/cluster.ts';
import { stopAllStewards, type RunningSteward } from '../support/steward.ts';

export const TTL_MS = 2000;

export interface Backend {
  /** Environment for replica `id` in `election` (each replica may get its own path to the store). */
  env(id: string, election: string): Record<string, string>;
  /** Cuts replica `id` off from the store while both stay alive; undefined when impossible. */
  partition?: (id: string) => Promise<void>;
  heal?: (id: string) => Promise<void>;
  /** How long after a leader stops renewing a follower may take to lead (the store's promise). */
  readonly failoverBoundMs: number;
}

export function electionScenarios(name: string, backend: () => Backend): void {
  afterEach(stopAllStewards);

  let elections = 0;
  async function pair(): Promise<{ log: ClusterLog; a: RunningSteward; b: RunningSteward }> {
    const log = clusterLog();
    const election = `e${process.pid}-${++elections}`;
    const a = startReplica('a', backend().env('a', election), log);
    await log.until('a to lead', (e) => leaders(e).includes('a'));
    // The leader's leader-only job acts every second.
    await log.until("a's leader-only job to act", (e) => e.some((x) => x.id === 'a' && x.event === 'action'));
    const b = startReplica('b', backend().env('b', election), log);
    await log.until('b to follow', (e) => rolesOf(e).get('b') === 'follower');
    // b's follower hook runs while b is still starting: on a loaded machine its remaining
    // start-up work (the jobs part, the start-up memory release) takes a second or more, and a
    // hand-over measured from then would time b's start-up, not the hand-over. The scenarios
    // begin once both replicas are running.
    await Promise.all([startedUp(a), startedUp(b)]);
    return { log, a, b };
  }

  it(`${name}: one replica leads, the other follows, and SIGTERM hands over in under a second`, async () => {
    const { log, a } = await pair();
    const sent = Date.now();
    await a.signal('SIGTERM');
    const entries = await log.until('b to lead', (e) => leaders(e).includes('b'));
    const bLeads = entries.find((e) => e.id === 'b' && e.event === 'leader');
    const aFollows = entries.filter((e) => e.id === 'a' && e.event === 'follower').at(-1);
    assert.ok(bLeads && aFollows);
    assert.ok(aFollows.at <= bLeads.at, "a's follower hook ran before b's leader hook");
    assert.ok(bLeads.at - sent < 1000, `handover took ${Math.round(bLeads.at - sent)} ms`);
    assert.equal((await a.exited).code, 0);
    assert.deepEqual(overlaps(entries), []);
  });

  it(`${name}: a leader killed with SIGKILL is replaced within the store's bound`, async () => {
    const { log, a } = await pair();
    const killed = Date.now();
    await a.signal('SIGKILL');
    log.mark('a', 'killed');
    const entries = await log.until('b to lead', (e) => leaders(e).includes('b'), backend().failoverBoundMs + 5000);
    const bLeads = entries.find((e) => e.id === 'b' && e.event === 'leader');
    assert.ok(bLeads);
    assert.ok(bLeads.at - killed < backend().failoverBoundMs, `failover took ${Math.round(bLeads.at - killed)} ms`);
    assert.deepEqual(overlaps(entries), []);
  });

  it(`${name}: a leader frozen longer than the TTL is replaced, and steps down at once when it resumes`, async () => {
    const { log, a } = await pair();
    await a.signal('SIGSTOP');
    log.mark('a', 'frozen');
    await log.until('b to lead', (e) => leaders(e).includes('b'), backend().failoverBoundMs + 5000);
    const resumed = Date.now();
    log.mark('a', 'resumed');
    await a.signal('SIGCONT');
    await log.until("b's leader-only job to act", (e) => e.some((x) => x.id === 'b' && x.event === 'action'));
    const entries = await log.until('a to step down', (e) => e.some((x) => x.id === 'a' && x.event === 'follower' && x.at >= resumed - 50));
    const stepDown = entries.find((x) => x.id === 'a' && x.event === 'follower' && x.at >= resumed - 50);
    assert.ok(stepDown && stepDown.at - resumed < 1500, 'a stepped down right after resuming');
    assert.deepEqual(overlaps(entries), []);
    assert.equal(leaders(entries).join(), 'b');
  });

  it(`${name}: a leader cut off from the store steps down before the new leader's hook runs`, { skip: backend().partition === undefined ? 'a shared directory cannot be partitioned' : false }, async () => {
    const { log } = await pair();
    await backend().partition?.('a');
    const entries = await log.until('b to lead', (e) => leaders(e).includes('b'), backend().failoverBoundMs + 10_000);
    const bLeads = entries.find((e) => e.id === 'b' && e.event === 'leader');
    const aFollows = entries.filter((e) => e.id === 'a' && e.event === 'follower').at(-1);
    assert.ok(bLeads && aFollows, 'a ran its follower hook');
    assert.ok(aFollows.at < bLeads.at, "a's follower hook ran before b's leader hook");
    assert.deepEqual(overlaps(entries), []);
    await backend().heal?.('a');
  });
}
