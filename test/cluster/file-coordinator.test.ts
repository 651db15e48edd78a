import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Coordinator, Session } from '../../src/cluster/coordinator.ts';
import { createFileCoordinator, keyFileName } from '../../src/cluster/file-coordinator.ts';
import { readLock } from '../../src/cluster/file-lock.ts';
import { systemClock } from '../../src/core/clock.ts';
import { killChildren, spawnFixture, type Child } from './fixtures/file-children.ts';
import { pausableClock } from './fixtures/file-clock.ts';

const clock = systemClock();
const ELECTION = '/steward/app/leader';
const MEMBERS = '/steward/app/members/';
let dir = '';
const coordinators: Coordinator[] = [];
const children: Child[] = [];
const watching = new AbortController();

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'steward-file-coordinator-'));
});

afterEach(async () => {
  await killChildren(children.splice(0));
  for (const c of coordinators.splice(0)) await c.close();
  await rm(dir, { recursive: true, force: true });
});

async function session(instanceId: string, ttlMs = 1000, c = clock): Promise<Session> {
  const coordinator = createFileCoordinator({ dir, clock: c });
  coordinators.push(coordinator);
  return coordinator.openSession({ ttlMs, instanceId }, new AbortController().signal);
}

/** Every value a callback was called with, and a way to await the first one that passes a test. */
function history<T>(): { readonly values: T[]; push: (value: T) => void; until: (test: (value: T) => boolean, timeoutMs?: number) => Promise<T> } {
  const values: T[] = [];
  const waiters = new Set<{ test: (value: T) => boolean; resolve: (value: T) => void }>();
  return {
    values,
    push(value) {
      values.push(value);
      for (const w of waiters) {
        if (w.test(value)) {
          waiters.delete(w);
          w.resolve(value);
        }
      }
    },
    until(test, timeoutMs = 5000) {
      const last = values.at(-1);
      if (values.length > 0 && test(last as T)) return Promise.resolve(last as T);
      return new Promise((resolve, reject) => {
        const waiter = {
          test,
          resolve: (value: T) => {
            clearTimeout(timer);
            resolve(value);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no matching value within ${timeoutMs} ms; got ${JSON.stringify(values.map((v) => (v instanceof Map ? [...v] : v)))}`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
  };
}

function members(s: Session, signal = watching.signal) {
  const seen = history<ReadonlyMap<string, string>>();
  s.watchPrefix(MEMBERS, (entries) => seen.push(entries), signal);
  return seen;
}

function leaders(s: Session, signal = watching.signal) {
  const seen = history<string | undefined>();
  s.observe(ELECTION, (leader) => seen.push(leader), signal);
  return seen;
}

async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  return Promise.race([promise.then(() => true, () => true), new Promise<boolean>((r) => setImmediate(() => r(false)))]);
}

describe('file coordinator', { timeout: 30_000 }, () => {
  it('register: create if absent; another live session gets false, the same one may re-register', async () => {
    const a = await session('a');
    const b = await session('b');
    assert.notEqual(a.id, b.id);
    assert.equal(await a.register(`${MEMBERS}a`, 'a:1'), true);
    assert.equal(await b.register(`${MEMBERS}a`, 'b:1'), false, 'a duplicate live id is refused');
    assert.equal(await a.register(`${MEMBERS}a`, 'a:2'), true);
    const seen = members(b);
    await seen.until((m) => m.get(`${MEMBERS}a`) === 'a:2');
    await assert.rejects(b.update(`${MEMBERS}a`, 'b:2'), /not registered by this session/);
  });

  it('a member that stops heartbeating vanishes after its TTL and its id can then be registered again', async () => {
    const ttlMs = 500;
    const member = spawnFixture('file-coordinator-member.ts', [dir, 'm1', String(ttlMs), `${MEMBERS}m1`, 'child']);
    children.push(member);
    assert.equal((await member.next((l) => l['event'] === 'registered'))['ok'], true);
    const b = await session('b', ttlMs);
    const seen = members(b);
    await seen.until((m) => m.get(`${MEMBERS}m1`) === 'child');
    assert.equal(await b.register(`${MEMBERS}m1`, 'b'), false);

    process.kill(member.pid, 'SIGSTOP');
    const stoppedAt = clock.monotonic();
    await seen.until((m) => !m.has(`${MEMBERS}m1`));
    const gone = clock.monotonic() - stoppedAt;
    assert.ok(gone >= ttlMs - ttlMs / 3 - 5 && gone < 2 * ttlMs, `vanished ${gone} ms after it stopped`);
    assert.equal(await b.register(`${MEMBERS}m1`, 'b'), true, 'the stale record is taken over');
    await seen.until((m) => m.get(`${MEMBERS}m1`) === 'b');

    process.kill(member.pid, 'SIGCONT');
    assert.match(String((await member.next((l) => l['event'] === 'lost'))['reason']), /TTL|taken over/);
    assert.equal(seen.values.at(-1)?.get(`${MEMBERS}m1`), 'b', 'the resumed member did not come back');
  });

  it('watchPrefix sees joins, updates and leaves under its prefix only', async () => {
    // A long TTL, so that leaving at close is told apart from expiring.
    const w = await session('w', 5000);
    const seen = members(w);
    await seen.until((m) => m.size === 0);
    const a = await session('a', 5000);
    const b = await session('b', 5000);
    const odd = `${MEMBERS}ü ../../x%2F`;
    assert.equal(await a.register(`${MEMBERS}a`, 'a:1'), true);
    assert.equal(await b.register(odd, 'odd'), true);
    assert.equal(await b.register('/steward/other/b', 'elsewhere'), true);
    await seen.until((m) => m.size === 2 && m.get(`${MEMBERS}a`) === 'a:1' && m.get(odd) === 'odd');

    await a.update(`${MEMBERS}a`, 'a:2');
    await seen.until((m) => m.get(`${MEMBERS}a`) === 'a:2');

    const closedAt = clock.monotonic();
    await a.close();
    await seen.until((m) => !m.has(`${MEMBERS}a`));
    assert.ok(clock.monotonic() - closedAt < 2000, 'a closed session leaves at once, not after its TTL');
    // Its record's directory went with it; a newcomer's record in a new one is seen too.
    const again = await session('a-again', 5000);
    assert.equal(await again.register(`${MEMBERS}a`, 'a:3'), true);
    await seen.until((m) => m.get(`${MEMBERS}a`) === 'a:3');
    await again.update(`${MEMBERS}a`, 'a:4');
    await seen.until((m) => m.get(`${MEMBERS}a`) === 'a:4');
    assert.ok(seen.values.every((m) => [...m.keys()].every((k) => k.startsWith(MEMBERS))));
    // Every key became one entry inside dir, whatever its characters.
    const names = await readdir(dir);
    assert.ok(names.includes(keyFileName(dir, odd)));
    assert.ok(names.every((n) => !n.includes('/') && n !== '..' && n !== '.'));
  });

  it('campaign, observe and resign hand leadership from one session to another', async () => {
    const w = await session('w');
    const seen = leaders(w);
    await seen.until((l) => l === undefined);
    const a = await session('a');
    const b = await session('b');
    const { fencingToken: first } = await a.campaign(ELECTION, 'a', new AbortController().signal).elected;
    await seen.until((l) => l === 'a');
    const campaignB = b.campaign(ELECTION, 'b', new AbortController().signal);
    assert.equal(await isSettled(campaignB.elected), false, 'b waits while a leads');
    assert.ok(a.lastRenewalSentAt() <= clock.monotonic());

    await a.resign(ELECTION);
    const { fencingToken: second } = await campaignB.elected;
    assert.ok(Number(second) > Number(first), `fencing token ${second} after ${first}`);
    await seen.until((l) => l === 'b');
    // Between a's release and b's claim an observer may see nobody; never anyone else.
    assert.equal(seen.values[0], undefined);
    assert.deepEqual(seen.values.filter((l) => l !== undefined), ['a', 'b']);
    assert.equal((await readLock(join(dir, keyFileName(dir, ELECTION))))?.owner, b.id);
  });

  it("a lost session's campaign rejects and never elects", async () => {
    const w = await session('w');
    const seen = leaders(w);
    const a = await session('a');
    const b = await session('b');
    await a.campaign(ELECTION, 'a', new AbortController().signal).elected;
    const campaignB = b.campaign(ELECTION, 'b', new AbortController().signal);

    // Someone removes b's session record from the volume.
    const record = (await readdir(dir)).find((n) => n.startsWith('session-') && n.includes(b.id.slice(-8)));
    assert.ok(record);
    await rm(join(dir, record), { recursive: true });
    assert.match(await b.lost, /session record: lock .* removed/);
    await assert.rejects(campaignB.elected, /is lost/);

    await a.resign(ELECTION);
    const c = await session('c');
    const { fencingToken } = await c.campaign(ELECTION, 'c', new AbortController().signal).elected;
    assert.equal(fencingToken, '2');
    await seen.until((l) => l === 'c');
    assert.ok(!seen.values.includes('b'), 'b never led');
    assert.equal(await b.register(`${MEMBERS}b`, 'b').catch((e: Error) => e.message), `session ${b.id} in ${dir} is lost: ${await b.lost}`);
  });

  it('a campaign that wins while its session heartbeat is overdue does not elect', async () => {
    const ttlMs = 300;
    const a = await session('a', ttlMs);
    await a.campaign(ELECTION, 'a', new AbortController().signal).elected;
    const frozen = pausableClock();
    const b = await session('b', ttlMs, frozen);
    const campaignB = b.campaign(ELECTION, 'b', new AbortController().signal);
    // b's timers stop (its heartbeats), but its waiting campaign is still woken by fs.watch,
    // as a process that resumes from a freeze is woken by whatever came first.
    frozen.pause();
    const pausedAt = clock.monotonic();
    while (clock.monotonic() < pausedAt + ttlMs) await new Promise((r) => setTimeout(r, 20));
    await a.resign(ELECTION);
    await assert.rejects(campaignB.elected, /is lost: heartbeat overdue/);
    assert.match(await b.lost, /heartbeat overdue/);
    const c = await session('c', ttlMs);
    assert.equal((await c.campaign(ELECTION, 'c', new AbortController().signal).elected).fencingToken, '3');
    frozen.resume();
  });

  it('an aborted campaign rejects with its reason and never elects', async () => {
    const a = await session('a');
    const b = await session('b');
    await a.campaign(ELECTION, 'a', new AbortController().signal).elected;
    const controller = new AbortController();
    const campaignB = b.campaign(ELECTION, 'b', controller.signal);
    controller.abort(new Error('stepping down'));
    await assert.rejects(campaignB.elected, /stepping down/);
    await a.resign(ELECTION);
    assert.equal(await readLock(join(dir, keyFileName(dir, ELECTION))), undefined, 'nobody leads');
    const c = await session('c');
    assert.equal((await c.campaign(ELECTION, 'c', new AbortController().signal).elected).fencingToken, '2');
  });

  it('close ends the session: lost resolves, its records go, its leadership is free', async () => {
    const a = await session('a');
    const w = await session('w');
    const seen = leaders(w);
    await a.register(`${MEMBERS}a`, 'a');
    await a.campaign(ELECTION, 'a', new AbortController().signal).elected;
    await seen.until((l) => l === 'a');
    await a.close();
    assert.equal(await a.lost, 'session closed');
    await seen.until((l) => l === undefined);
    assert.deepEqual((await readdir(dir)).filter((n) => n.includes('members')), [], 'member records are removed, not left to expire');
  });

  it('a missing directory is an error naming it', async () => {
    const coordinator = createFileCoordinator({ dir: join(dir, 'nope'), clock });
    assert.equal(coordinator.source, join(dir, 'nope'));
    await assert.rejects(coordinator.openSession({ ttlMs: 500, instanceId: 'a' }, new AbortController().signal), /lock directory .*nope does not exist/);
  });
});
