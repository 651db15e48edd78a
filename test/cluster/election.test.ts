// The election's fencing, on an in-memory store and a manual clock: a leader acts only while
// the store cannot have given its seat to another replica. Every leader action below is checked
// against the store's own view at the moment it happens: no other replica holds the seat.

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { createBus } from '../../src/core/bus.ts';
import type { Events } from '../../src/core/events.ts';
import { createElection, leaderKeyOf, type Election } from '../../src/cluster/election.ts';
import { fenceMargin } from '../../src/cluster/fence.ts';
import { recordingLogger } from '../support/logs.ts';
import { manualClock, type ManualClock } from '../support/manual-clock.ts';
import { memoryStore, type MemoryStore } from '../support/memory-coordinator.ts';

const TTL_MS = 600;
const SCOPE = 'steward/web';
const LEADER_KEY = leaderKeyOf(SCOPE);
/** How often a replica's leader-only work asks for a permit. */
const ACT_EVERY_MS = 10;

interface Action {
  readonly at: number;
  readonly id: string;
  readonly token: string;
}

interface Replica {
  readonly id: string;
  readonly election: Election;
  readonly roles: (Events['role.changed'] & { at: number })[];
}

interface World {
  readonly clock: ManualClock;
  readonly store: MemoryStore;
  readonly actions: Action[];
  start(id: string): Promise<Replica>;
  /** Advances the clock to `t` in steps, letting the replicas react between steps. */
  to(t: number): Promise<void>;
  close(): Promise<void>;
}

/** Lets every reaction that needs no time (promises, callbacks) run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function world(): World {
  const clock = manualClock();
  const store = memoryStore(clock);
  const actions: Action[] = [];
  const replicas: Replica[] = [];
  let closed = false;

  // Each replica's leader-only work: ask for a permit, act with it, and check at that very
  // moment that the store agrees this replica holds the seat with this token.
  const act = (r: Replica): void => {
    if (closed) return;
    const permit = r.election.permit();
    if (permit !== undefined) {
      const at = clock.monotonic();
      const seat = store.seat(LEADER_KEY);
      // An empty seat is no overlap: nobody else leads, and whoever takes it next is seen at once.
      if (seat !== undefined) {
        assert.deepEqual(
          { value: seat.value, token: seat.fencingToken },
          { value: r.id, token: permit.fencingToken },
          `${r.id} acted at ${at} ms with token ${permit.fencingToken} while the store's seat was ${JSON.stringify(seat)}`,
        );
      }
      actions.push({ at, id: r.id, token: permit.fencingToken });
    }
    clock.setTimer(ACT_EVERY_MS, () => act(r));
  };

  return {
    clock,
    store,
    actions,
    async start(id) {
      const bus = createBus((name, error) => {
        throw new Error(`handler of ${name} failed: ${String(error)}`);
      });
      const roles: Replica['roles'] = [];
      bus.on('role.changed', (e) => roles.push({ ...e, at: clock.monotonic() }));
      const election = createElection({
        coordinator: store.coordinator(id),
        scope: SCOPE,
        instanceId: id,
        host: id,
        address: `${id}:80`,
        ttlMs: TTL_MS,
        bus,
        log: recordingLogger(),
        clock,
      });
      const r = { id, election, roles };
      replicas.push(r);
      await election.start(new AbortController().signal);
      act(r);
      return r;
    },
    async to(t) {
      while (clock.monotonic() < t) {
        clock.advance(Math.min(ACT_EVERY_MS, t - clock.monotonic()));
        await settle();
      }
    },
    async close() {
      closed = true;
      await Promise.all(replicas.map((r) => r.election.close()));
    },
  };
}

/** The leaderships seen in the actions: per token, its replica and first and last action. */
function leaderships(actions: readonly Action[]): { id: string; token: string; from: number; to: number }[] {
  const byToken = new Map<string, { id: string; token: string; from: number; to: number }>();
  for (const a of actions) {
    const l = byToken.get(a.token);
    if (l === undefined) byToken.set(a.token, { id: a.id, token: a.token, from: a.at, to: a.at });
    else l.to = a.at;
  }
  return [...byToken.values()].sort((x, y) => x.from - y.from);
}

function assertNoOverlap(actions: readonly Action[]): void {
  const ls = leaderships(actions);
  for (let i = 1; i < ls.length; i++) {
    const [before, after] = [ls[i - 1]!, ls[i]!];
    assert.ok(before.to < after.from, `${before.id}'s leadership (token ${before.token}, ${before.from}-${before.to} ms) overlaps ${after.id}'s (token ${after.token}, from ${after.from} ms)`);
  }
}

describe('election fencing (in-memory store, manual clock)', () => {
  let w: World;
  afterEach(async () => {
    await w.close();
  });

  it('a leader whose renewals stop acts until its fence deadline and not a moment later, before the store frees its seat', async () => {
    w = world();
    const a = await w.start('a');
    const b = await w.start('b');
    assert.equal(a.election.role(), 'leader');
    assert.equal(b.election.role(), 'follower');

    // a's session was opened at 0 and renews every TTL/3; the renewal at 1000 is its last.
    await w.to(1000);
    w.store.cutOff('a');
    const fenceDeadline = 1000 + TTL_MS - fenceMargin(TTL_MS);

    await w.to(fenceDeadline - 1);
    assert.ok(a.election.permit() !== undefined, 'still inside the fence deadline');
    assert.equal(w.actions.at(-1)?.id, 'a');

    await w.to(fenceDeadline);
    assert.equal(a.election.permit(), undefined);
    assert.equal(a.election.role(), 'follower');
    assert.deepEqual(
      a.roles.map((e) => [e.at, e.role, e.reason]),
      [
        [0, 'leader', 'elected'],
        [fenceDeadline, 'follower', 'the fence deadline passed without a renewal'],
      ],
    );
    assert.equal(w.actions.filter((x) => x.id === 'a').at(-1)?.at, fenceDeadline - ACT_EVERY_MS, "a's last action was its last tick before the deadline");
    assert.equal(w.store.seat(LEADER_KEY)?.value, 'a', 'the store still holds the seat for a: nobody else may lead yet');

    // The store expires a's session one TTL after its last renewal; only then does b lead.
    await w.to(1000 + TTL_MS);
    assert.equal(w.store.seat(LEADER_KEY)?.value, 'b');
    assert.equal(b.election.role(), 'leader');
    assert.equal(b.roles.at(-1)?.at, 1000 + TTL_MS);

    // Cut off, a never leads again; healed, it follows b on a fresh session.
    await w.to(4000);
    assert.equal(a.election.role(), 'follower');
    w.store.heal('a');
    await w.to(4500);
    assert.equal(a.election.role(), 'follower');
    assert.equal(a.election.leader(), 'b');
    assert.equal(w.store.sessionsOf('a').length, 1);
    assert.ok(w.actions.some((x) => x.id === 'b' && x.at >= 4400), 'b kept acting');
    assertNoOverlap(w.actions);
  });

  it('a leader steps down the moment the store shows another leader, before its own session reports the loss', async () => {
    w = world();
    const a = await w.start('a');
    const b = await w.start('b');
    await w.to(1010);
    const [session] = w.store.sessionsOf('a');
    assert.ok(session !== undefined);

    // An operator revokes a's session: the seat goes to b, and a's watch says so at once; a's
    // own renewal would learn of the revocation only at 1200.
    w.store.revoke(session);
    assert.equal(a.election.permit(), undefined);
    assert.equal(a.election.role(), 'follower');
    assert.deepEqual(a.roles.at(-1)?.reason, 'the store shows b as leader');
    assert.equal(a.roles.at(-1)?.at, 1010);

    await w.to(1020);
    assert.equal(b.election.role(), 'leader');
    assert.equal(b.roles.at(-1)?.fencingToken, w.store.seat(LEADER_KEY)?.fencingToken);

    // a takes part again on a fresh session, as a follower.
    await w.to(2000);
    assert.equal(a.election.role(), 'follower');
    assert.equal(w.store.sessionsOf('a').length, 1);
    assert.notEqual(w.store.sessionsOf('a')[0], session);
    assert.deepEqual([...new Set(w.actions.map((x) => x.id))], ['a', 'b']);
    assertNoOverlap(w.actions);
  });

  it('hands over on shutdown: stops acting first, resigns, and the follower leads at once', async () => {
    w = world();
    const a = await w.start('a');
    const b = await w.start('b');
    await w.to(500);

    a.election.stepDownForShutdown('steward is stopping');
    assert.equal(a.election.permit(), undefined);
    assert.equal(a.election.role(), 'follower');
    assert.equal(a.roles.at(-1)?.reason, 'steward is stopping');
    // Until a resigns, the seat is still a's: b must not lead, nor a act.
    await w.to(600);
    assert.equal(w.store.seat(LEADER_KEY)?.value, 'a');
    assert.equal(b.election.role(), 'follower');
    assert.equal(JSON.parse(w.store.keys().get(`${SCOPE}/members/a`) ?? '{}').state, 'stopping');

    await a.election.resign();
    assert.equal(w.store.seat(LEADER_KEY)?.value, 'b');
    await settle();
    assert.equal(b.election.role(), 'leader');
    assert.equal(b.roles.at(-1)?.at, 600, 'b leads without waiting for any TTL');

    // a never campaigns again while it stops, however long that takes.
    await w.to(3000);
    assert.equal(a.election.role(), 'follower');
    assert.equal(w.store.seat(LEADER_KEY)?.value, 'b');
    await a.election.close();
    assert.deepEqual(w.store.sessionsOf('a'), []);
    assert.equal(w.store.keys().has(`${SCOPE}/members/a`), false);
    assert.deepEqual(
      leaderships(w.actions).map((l) => l.id),
      ['a', 'b'],
    );
    assertNoOverlap(w.actions);
  });

  it('never lets two replicas act at once, whatever is cut off or revoked, and settles on one leader afterwards', async () => {
    w = world();
    const ids = ['a', 'b', 'c'];
    for (const id of ids) await w.start(id);
    // A fixed pseudo-random schedule of faults (a small LCG): reproducible, and varied enough to
    // hit cuts shorter and longer than the TTL, revocations during cuts, and heals mid-campaign.
    let seed = 12345;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const cut = new Set<string>();
    for (let t = 200; t < 60_000; t += 100 + random(400)) {
      await w.to(t);
      const id = ids[random(ids.length)]!;
      const fault = random(3);
      if (fault === 0 && !cut.has(id)) {
        w.store.cutOff(id);
        cut.add(id);
      } else if (fault === 1 && cut.has(id)) {
        w.store.heal(id);
        cut.delete(id);
      } else if (fault === 2) {
        // Only a reachable leader's session is revoked: one that is cut off cannot hear of it
        // before its fence deadline, and no self-fencing can cover that (the fencing token
        // checked by the resource itself does).
        const seat = w.store.seat(LEADER_KEY);
        if (seat !== undefined && !cut.has(seat.value)) w.store.revoke(seat.session);
      }
    }
    for (const id of cut) w.store.heal(id);
    const healedAt = w.clock.monotonic();
    await w.to(healedAt + 3 * TTL_MS);

    assertNoOverlap(w.actions);
    const ls = leaderships(w.actions);
    assert.ok(ls.length >= 20, `only ${ls.length} leaderships: the schedule did not exercise the election`);
    assert.equal(new Set(ls.map((l) => l.id)).size, 3);
    // Settled: exactly one replica leads, the others follow it, and the leader acts.
    const leader = w.store.seat(LEADER_KEY)?.value;
    assert.ok(leader !== undefined);
    assert.ok(w.actions.some((x) => x.id === leader && x.at >= healedAt + 3 * TTL_MS - ACT_EVERY_MS));
  });
});
