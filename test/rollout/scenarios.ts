// The rollout scenarios every store runs: one key change restarts three replicas one at a time,
// and an app that never becomes healthy stalls the rollout with the lock held, until a later
// configuration fixes it. Each store's file says how to reach it and how to write the key.

import assert from 'node:assert/strict';
import { afterEach, it } from 'node:test';
import { stopAllStewards } from '../support/steward.ts';
import { quietFor } from '../support/until.ts';
import { downIntervals, lastConfigs, logLine, mostDownAtOnce, rolloutLog, startWebReplica, type Replica } from './replicas.ts';

export interface RolloutStore {
  /** What a replica needs to reach the store (template backend and lock). */
  env(): Record<string, string>;
  /** Writes /app/config. */
  put(value: string): Promise<void>;
  /** Takes the rollout lock's first slot away from its holder (session invalidated, lease revoked, file removed). */
  loseLock(): Promise<void>;
}

const IDS = ['a', 'b', 'c'] as const;

export function rolloutScenarios(name: string, store: () => RolloutStore): void {
  afterEach(() => stopAllStewards());

  async function threeReplicas(first: string, extra: Record<string, string> = {}) {
    const log = rolloutLog();
    await store().put(first);
    const replicas: Replica[] = [];
    for (const id of IDS) replicas.push(await startWebReplica(id, log, { ...store().env(), ...extra }));
    await log.until(`three apps ready on ${first}`, (e) => IDS.every((id) => lastConfigs(e).get(id) === first));
    // Each steward has seen its app healthy: a rollout's health wait starts from a known state.
    for (const r of replicas) await logLine(r.steward, /"app is healthy"/);
    return { log, replicas };
  }

  it(`${name}: one key change restarts the three apps one at a time, and all end on it`, async () => {
    const { log, replicas } = await threeReplicas('v1');
    const before = log.entries().at(-1)?.at ?? 0;
    await store().put('v2');
    const entries = await log.until('three apps ready on v2', (e) => IDS.every((id) => lastConfigs(e).get(id) === 'v2'));
    const down = downIntervals(entries, before);
    assert.equal(down.length, 3, `three stops: ${JSON.stringify(down)}`);
    assert.equal(mostDownAtOnce(down), 1, `at most one down at once: ${JSON.stringify(down)}`);
    for (const r of replicas) assert.equal(r.rendered(), 'v2');
    // Every one of them held the lock in turn.
    for (const r of replicas) await logLine(r.steward, /rollout lock released/);
  });

  it(`${name}: an app that never becomes healthy stalls the rollout with the lock held, until a fix`, async () => {
    const { log, replicas } = await threeReplicas('v1', { STEWARD_ROLLOUT_TIMEOUT: '2s' });
    await store().put('broken');
    const stuckLine = await Promise.any(replicas.map((r) => logLine(r.steward, /keeping the rollout lock/).then(() => r)));
    // The other two wait for the lock, on the old configuration, and keep serving.
    const others = replicas.filter((r) => r !== stuckLine);
    for (const r of others) await logLine(r.steward, /waiting for the rollout lock/);
    await quietFor(1500);
    for (const r of others) {
      assert.equal(r.rendered(), 'v1', `${r.id} kept the old file`);
      const answer = await fetch(`http://127.0.0.1:${r.port}/`);
      assert.equal(answer.status, 200);
      assert.match(await answer.text(), /^v1 /);
    }
    assert.equal(lastConfigs(log.entries()).get(stuckLine.id), 'broken');
    assert.ok(IDS.filter((id) => lastConfigs(log.entries()).get(id) === 'v1').length === 2);
    // A later configuration fixes it: the stuck replica takes it under the lock it holds, then the rollout goes on.
    await store().put('v3');
    await log.until('three apps ready on v3', (e) => IDS.every((id) => lastConfigs(e).get(id) === 'v3'));
    for (const r of replicas) assert.equal(r.rendered(), 'v3');
  });

  it(`${name}: a lock lost during the sequence lets the step under way finish and starts no later step`, async () => {
    const log = rolloutLog();
    await store().put('v1');
    const a = await startWebReplica('a', log, { ...store().env(), STEWARD_ROLLOUT_HEALTHY_FOR: '4s' });
    await logLine(a.steward, /"app is healthy"/);
    await store().put('v2');
    await logLine(a.steward, /holding the lock .* more/);
    await store().loseLock();
    await logLine(a.steward, /rollout lock lost/);
    // The step under way (the healthy-for wait) finishes; the release is not started on the lost lock's authority.
    await logLine(a.steward, /not starting \\"release\\": the rollout lock was lost/);
    assert.doesNotMatch(a.steward.stderr(), /rollout lock released/);
    assert.equal(a.rendered(), 'v2');
    // The next change takes the lock again and goes through the whole sequence.
    await store().put('v3');
    await logLine(a.steward, /rollout lock released/);
    assert.equal(lastConfigs(log.entries()).get('a'), 'v3');
  });
}
