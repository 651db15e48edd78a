// The file lock between real processes: mutual exclusion under contention, stale takeovers
// raced by several processes at once, and a holder frozen with SIGSTOP.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { acquireLock, readLock, type HeldLock } from '../../src/cluster/file-lock.ts';
import { systemClock } from '../../src/core/clock.ts';
import { killChildren, spawnFixture, type Child, type Line } from './fixtures/file-children.ts';
import { until } from '../support/until.ts';

const clock = systemClock();
let dir = '';
const children: Child[] = [];
const held: HeldLock[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'steward-file-lock-procs-'));
});

afterEach(async () => {
  await killChildren(children.splice(0));
  for (const lock of held.splice(0)) await lock.release().catch(() => {});
  await rm(dir, { recursive: true, force: true });
});

interface Hold {
  readonly owner: string;
  readonly generation: number;
  readonly start: number;
  readonly end: number;
  readonly clash: boolean;
  /** The generation whose marker a clash met. */
  readonly clashWith?: number;
  readonly fenceOk: boolean;
  /** The hold ended (its marker removed) past its fence: it may rightly have been taken over meanwhile. */
  readonly overstayed: boolean;
}

async function race(processes: number, rounds: number, ttlMs: number, mode: 'release' | 'abandon'): Promise<Hold[]> {
  const path = join(dir, 'leader');
  const marker = join(dir, 'marker');
  const racers = Array.from({ length: processes }, (_, i) =>
    spawnFixture('file-lock-racer.ts', [path, marker, String(rounds), String(ttlMs), `p${i}`, mode]),
  );
  children.push(...racers);
  await Promise.all(racers.map((r) => r.next((l) => l['done'] === true, 60_000)));
  return racers.flatMap((r) => r.lines().filter((l: Line) => typeof l['generation'] === 'number') as unknown as Hold[]);
}

/**
 * No two holds overlap, except where one of them overstayed its fence (then the next holder
 * rightly took over while it was still finishing, which a loaded machine does to a 100 ms TTL),
 * and generations only grow. Exclusion is the lock's promise within the fence, and is what is held
 * against it here; a clash with a hold still inside its fence fails the test.
 */
function assertExclusive(holds: readonly Hold[], expected: number): void {
  assert.equal(holds.length, expected);
  const byGeneration = new Map(holds.map((h) => [h.generation, h]));
  for (const h of holds.filter((x) => x.clash)) {
    const other = h.clashWith === undefined ? undefined : byGeneration.get(h.clashWith);
    assert.ok(h.overstayed || other?.overstayed === true, `hold ${JSON.stringify(h)} met the marker of ${JSON.stringify(other)}, both within their fences`);
  }
  // A hold that began past its fence (starved between acquiring and acting) also ended past it.
  assert.equal(holds.filter((h) => !h.fenceOk && !h.overstayed).length, 0, 'every hold within its fence began within it');
  const byStart = [...holds].sort((a, b) => a.start - b.start);
  for (let i = 1; i < byStart.length; i++) {
    const before = byStart[i - 1]!;
    const after = byStart[i]!;
    if (!before.overstayed) assert.ok(after.start >= before.end, `holds overlap: ${JSON.stringify(before)} and ${JSON.stringify(after)}`);
    assert.ok(after.generation > before.generation, `generation went from ${before.generation} to ${after.generation}`);
  }
}

describe('file lock between processes', { timeout: 120_000 }, () => {
  it('four processes race for one lock 1,000 times and never both hold it', async () => {
    const holds = await race(4, 250, 2000, 'release');
    assertExclusive(holds, 1000);
    assert.equal(new Set(holds.map((h) => h.owner)).size, 4, 'every process got the lock');
  });

  it('six processes race to take over each abandoned lock: one winner every time', async () => {
    // Every holder stops heartbeating (a crash) instead of releasing: each handover is a
    // stale takeover that the other waiters attempt at the same moment.
    const holds = await race(6, 5, 100, 'abandon');
    assertExclusive(holds, 30);
    // Thirty holds, thirty distinct generations (assertExclusive: increasing in hold order). Not
    // necessarily 1 to 30: a claimer starved past the 100 ms TTL between its link() and its
    // second listing is rightly superseded and withdraws its slot, whose number is then skipped.
    const generations = holds.map((h) => h.generation);
    assert.equal(new Set(generations).size, 30);
  });

  it('a SIGSTOPped holder is taken over after the TTL, finds out when resumed, and cannot undo the takeover', async () => {
    const path = join(dir, 'leader');
    const ttlMs = 600;
    const holder = spawnFixture('file-lock-holder.ts', [path, String(ttlMs), '150', 'frozen']);
    children.push(holder);
    assert.equal((await holder.next((l) => l['event'] === 'acquired'))['generation'], 1);
    await holder.next((l) => l['event'] === 'acted' && holder.lines().filter((m) => m['event'] === 'acted').length >= 3);

    process.kill(holder.pid, 'SIGSTOP');
    const stoppedAt = Date.now();
    const stoppedMono = clock.monotonic();
    // b's own TTL only rules how long b's hold survives a starved test process (staleness is
    // judged by the holder's TTL): long, so that b still holds when its heartbeat is checked.
    const b = await acquireLock({ path, ttlMs: 10_000, owner: 'b', clock });
    held.push(b);
    const waited = clock.monotonic() - stoppedMono;
    // The last heartbeat came at most one heartbeat interval before the stop.
    assert.ok(waited >= ttlMs - 150 - 5, `taken over ${waited} ms after SIGSTOP`);
    assert.equal(b.generation, 2);
    assert.equal((await readLock(path))?.owner, 'b');

    process.kill(holder.pid, 'SIGCONT');
    const lost = await holder.next((l) => l['event'] === 'lost');
    assert.match(String(lost['reason']), /leader: (heartbeat came \d+ ms after the last one, past the 600 ms TTL|taken over by b)/);
    // Which comes first after SIGCONT, a work tick or the heartbeat, is up to the timer queue;
    // either way the first tick must not act: its fence deadline (lastRefreshSentAt + TTL -
    // margin) is past, whether or not `lost` has resolved yet.
    const woke = await holder.next((l) => l['event'] === 'woke');
    assert.equal(woke['fenced'], true, 'on waking, its last refresh was past its fence deadline');
    assert.ok(Number(woke['sinceRefresh']) >= ttlMs);
    // Its own output is in order: the first tick after the freeze is the 'woke' line.
    const lines = holder.lines();
    const actedAfterWaking = lines.slice(lines.indexOf(woke)).filter((l) => l['event'] === 'acted');
    assert.deepEqual(actedAfterWaking, [], 'it never acted after being frozen');
    assert.ok(lines.some((l) => l['event'] === 'acted' && Number(l['at']) < stoppedAt), 'it did act before');

    const beforeRelease = clock.monotonic();
    holder.send('release');
    await holder.next((l) => l['event'] === 'released');
    assert.equal((await readLock(path))?.owner, 'b', "the old holder's release left the new holder's lock alone");
    // The new holder keeps heartbeating successfully.
    await until("b's next heartbeat", () => b.lastRefreshSentAt() > beforeRelease);
    assert.equal(await Promise.race([b.lost.then(() => true), new Promise((r) => setImmediate(() => r(false)))]), false);
    holder.send('exit');
    assert.equal(await holder.exited, 0);
  });
});
