// Leader election with self-fencing. A leader's fence deadline is the time its last successful
// renewal was *sent* plus the TTL minus a safety margin (monotonic clock): the store cannot have
// expired its lease before then, so no other replica can lead yet. When the deadline passes
// without a newer renewal, this replica steps down on its own, before its lease can expire
// anywhere, and regains leadership only by a fresh campaign on a fresh session. Every leader
// action (a leader hook, a leader-only job) checks the deadline before it starts.

import type { Bus } from '../core/bus.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import { exponentialBackoff } from '../core/process-control/backoff.ts';
import { ConfigError } from '../core/exit-codes.ts';
import type { Health, MemberRecord, Role } from '../core/events.ts';
import type { Logger } from '../core/log.ts';
import type { Coordinator, Session } from './coordinator.ts';

export interface ElectionOptions {
  readonly coordinator: Coordinator;
  /** <prefix>/<name> */
  readonly scope: string;
  readonly instanceId: string;
  readonly host: string;
  readonly address: string;
  readonly ttlMs: number;
  /** This replica's health until a health.changed says otherwise (default none: no check). */
  readonly initialHealth?: Health;
  readonly bus: Bus;
  readonly log: Logger;
  readonly clock: Clock;
}

export interface Election {
  /** Opens the session, registers, campaigns; resolves once the first role is known, or when `abort` fires. */
  start(abort: AbortSignal): Promise<void>;
  role(): Role;
  leader(): string | undefined;
  members(): readonly MemberRecord[];
  /** While leader and before the fence deadline: the fencing token; otherwise undefined. */
  permit(): { readonly fencingToken: string } | undefined;
  /** Shutdown, first step: become follower, so that listeners stop leader work; no resign yet. */
  stepDownForShutdown(reason: string): void;
  /** Shutdown, second step: resign, so that a follower takes over at once. */
  resign(): Promise<void>;
  close(): Promise<void>;
}

/** Where an election's keys live: <prefix>/<name> (its leader key and members/ are below). */
export function electionScope(keyPrefix: string, name: string): string {
  return `${keyPrefix.replace(/\/+$/, '')}/${name}`;
}

export function leaderKeyOf(scope: string): string {
  return `${scope}/leader`;
}

/** How much earlier than the TTL a leader fences itself. */
export function fenceMargin(ttlMs: number): number {
  return Math.max(Math.round(ttlMs / 5), 100);
}

/** How long the first role may take before steward goes on as a follower. */
const FIRST_ROLE_WAIT_FACTOR = 1;

export function createElection(o: ElectionOptions): Election {
  const log = o.log;
  const leaderKey = leaderKeyOf(o.scope);
  const membersPrefix = `${o.scope}/members/`;
  const memberKey = `${membersPrefix}${o.instanceId}`;
  const since = o.clock.now();
  const stopping = new AbortController();
  let role: Role = 'follower';
  let health: Health = o.initialHealth ?? 'none';
  let token: string | undefined;
  let leaderId: string | undefined;
  let members: MemberRecord[] = [];
  let session: Session | undefined;
  /** The session kept through a shutdown hand-over, for resign() and close(). */
  let keptSession: Session | undefined;
  let sessionAbort: AbortController | undefined;
  /** Aborted at the start of a shutdown hand-over: no campaign may lead after it. */
  const noMoreCampaigns = new AbortController();
  let fenceTimer: TimerHandle | undefined;
  let loop: Promise<void> | undefined;
  let firstRoleKnown: (() => void) | undefined;
  let handingOver = false;
  let started = false;

  /** Waits on the injected clock (as the fence does), so that a test's clock drives every wait. */
  const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
    new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = (): void => {
        timer.cancel();
        reject(signal.reason);
      };
      const timer = o.clock.setTimer(ms, () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
      signal.addEventListener('abort', onAbort, { once: true });
    });

  const deadline = (): number => (session === undefined ? -Infinity : session.lastRenewalSentAt() + o.ttlMs - fenceMargin(o.ttlMs));

  function record(): string {
    const m: MemberRecord = { id: o.instanceId, host: o.host, address: o.address, role, state: handingOver ? 'stopping' : 'running', health, since };
    return JSON.stringify(m);
  }

  function setRole(next: Role, reason: string, fencingToken: string | undefined): void {
    if (next === 'leader' && handingOver) return;
    const changed = next !== role || firstRoleKnown !== undefined;
    role = next;
    token = next === 'leader' ? fencingToken : undefined;
    if (next === 'leader') leaderId = o.instanceId;
    firstRoleKnown?.();
    firstRoleKnown = undefined;
    if (!changed) return;
    log.info(`role: ${next} (${reason})`, { fencingToken: token });
    o.bus.emit('role.changed', { role: next, leader: leaderId, fencingToken: token, reason });
    const s = session;
    if (s !== undefined) void s.update(memberKey, record()).catch(() => {});
  }

  function armFence(): void {
    fenceTimer?.cancel();
    if (role !== 'leader') return;
    const left = deadline() - o.clock.monotonic();
    if (left <= 0) {
      stepDown('the fence deadline passed without a renewal');
      return;
    }
    fenceTimer = o.clock.setTimer(left, armFence);
  }

  function stepDown(reason: string): void {
    fenceTimer?.cancel();
    if (role === 'leader') setRole('follower', reason, undefined);
    // Only a fresh campaign on a fresh session may lead again.
    sessionAbort?.abort();
  }

  function onMembers(entries: ReadonlyMap<string, string>): void {
    const next: MemberRecord[] = [];
    for (const value of entries.values()) {
      try {
        next.push(JSON.parse(value) as MemberRecord);
      } catch {
        // Not ours (someone wrote there by hand): not a member.
      }
    }
    next.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const before = new Set(members.map((m) => m.id));
    const after = new Set(next.map((m) => m.id));
    const joined = [...after].filter((id) => !before.has(id));
    const left = [...before].filter((id) => !after.has(id));
    const changes = next.some((m) => {
      const before = members.find((x) => x.id === m.id);
      return before?.role !== m.role || (before.health ?? 'none') !== (m.health ?? 'none');
    });
    members = next;
    if (joined.length > 0 || left.length > 0 || changes) o.bus.emit('members.changed', { members: next, joined, left });
  }

  function onLeader(value: string | undefined): void {
    if (value === leaderId) return;
    leaderId = value;
    // The store says another replica leads: this one's leadership was taken away (a lease
    // revoked or a session destroyed by an operator); stop acting at once. "No leader" is not
    // enough: watches may report the moment between two leaders after this one's election.
    if (role === 'leader' && value !== undefined && value !== o.instanceId && !handingOver) stepDown(`the store shows ${value} as leader`);
    o.bus.emit('leader.changed', { leader: value });
    // Someone else leads: our role is known (follower) even before our own campaign settles.
    if (value !== undefined && value !== o.instanceId && firstRoleKnown !== undefined) setRole('follower', `${value} leads`, undefined);
  }

  async function oneSession(first: boolean): Promise<void> {
    const abort = new AbortController();
    sessionAbort = abort;
    const signal = AbortSignal.any([abort.signal, stopping.signal]);
    const s = await o.coordinator.openSession({ ttlMs: o.ttlMs, instanceId: o.instanceId }, signal);
    session = s;
    try {
      const registerDeadline = o.clock.monotonic() + 2 * o.ttlMs;
      // After a restart with the same id, the old session's record lives until its TTL ends.
      while (!(await s.register(memberKey, record()))) {
        if (first && !started) {
          throw new ConfigError(`instance id ${JSON.stringify(o.instanceId)} is already registered by a live replica in ${o.scope}: set STEWARD_INSTANCE_ID to a unique id (host networking makes hostnames collide)`);
        }
        if (o.clock.monotonic() > registerDeadline) throw new Error(`member ${o.instanceId} still held by another session`);
        await sleep(o.ttlMs / 2, signal);
      }
      s.observe(leaderKey, onLeader, signal);
      s.watchPrefix(membersPrefix, onMembers, signal);
      if (handingOver) return;
      const campaign = s.campaign(leaderKey, o.instanceId, AbortSignal.any([signal, noMoreCampaigns.signal]));
      const outcome = await Promise.race([
        campaign.elected.then(
          (e) => ({ kind: 'elected' as const, token: e.fencingToken }),
          (error: unknown) => ({ kind: 'failed' as const, error: error instanceof Error ? error.message : String(error) }),
        ),
        s.lost.then((reason) => ({ kind: 'lost' as const, reason })),
        new Promise<{ kind: 'aborted' }>((resolve) => signal.addEventListener('abort', () => resolve({ kind: 'aborted' }), { once: true })),
      ]);
      if (handingOver) {
        // Stopping: never lead now; a campaign that won regardless gives the seat back at once.
        if (outcome.kind === 'elected') await s.resign(leaderKey).catch(() => {});
        return;
      }
      if (outcome.kind === 'elected') {
        if (o.clock.monotonic() >= deadline()) {
          log.warn('elected, but past the fence deadline already; campaigning again');
          return;
        }
        setRole('leader', 'elected', outcome.token);
        armFence();
        const end = await Promise.race([
          s.lost.then((reason) => `session lost: ${reason}`),
          new Promise<string>((resolve) => signal.addEventListener('abort', () => resolve('stepped down'), { once: true })),
        ]);
        if (role === 'leader' && !stopping.signal.aborted) stepDown(end);
      } else if (outcome.kind === 'lost') {
        log.warn(`session lost (${outcome.reason}); starting a new one`);
      } else if (outcome.kind === 'failed' && !signal.aborted) {
        throw new Error(`campaign failed: ${outcome.error}`);
      }
    } finally {
      fenceTimer?.cancel();
      if (session === s) session = undefined;
      // During a hand-over the session stays open for resign() and is closed by close().
      if (handingOver) keptSession = s;
      else await s.close().catch(() => {});
    }
  }

  async function run(): Promise<void> {
    const backoff = exponentialBackoff({ initialMs: 200, maxMs: Math.max(1000, o.ttlMs) });
    let first = true;
    while (!stopping.signal.aborted && !handingOver) {
      try {
        await oneSession(first);
        backoff.reset();
      } catch (error) {
        if (error instanceof ConfigError) throw error;
        if (stopping.signal.aborted || handingOver) return;
        const delay = backoff.next();
        log.warn(`cannot take part in the election (${error instanceof Error ? error.message : String(error)}); retrying`, { retryInMs: delay });
        await sleep(delay, stopping.signal).catch(() => {});
      }
      first = false;
    }
  }

  // The member record follows the app's health; the role is the election's own business.
  const offHealth = o.bus.on('health.changed', (e) => {
    if (e.health === health) return;
    health = e.health;
    const s = session;
    if (s !== undefined) void s.update(memberKey, record()).catch(() => {});
  });

  return {
    async start(abort) {
      const known = new Promise<void>((resolve) => {
        firstRoleKnown = resolve;
      });
      // A stop before the first role is known ends the election at once.
      const onAbort = (): void => stopping.abort();
      abort.addEventListener('abort', onAbort, { once: true });
      loop = run();
      const failed = loop.then(() => undefined);
      // The first role is known once elected or once another leader is seen; a cluster whose
      // leader is hard to reach should not keep the app from starting forever.
      const timeout = sleep(o.ttlMs * FIRST_ROLE_WAIT_FACTOR, stopping.signal).catch(() => {});
      try {
        await Promise.race([known, failed, timeout]);
      } finally {
        started = true;
        abort.removeEventListener('abort', onAbort);
      }
      // From here on the loop only retries; nothing may reject unobserved.
      loop.catch(() => {});
      if (stopping.signal.aborted) return;
      if (firstRoleKnown !== undefined) {
        firstRoleKnown = undefined;
        log.info('no leader yet; starting as follower');
        o.bus.emit('role.changed', { role: 'follower', leader: leaderId, fencingToken: undefined, reason: 'no leader yet' });
      }
    },
    role: () => role,
    leader: () => leaderId,
    members: () => members,
    permit() {
      if (role !== 'leader' || token === undefined) return undefined;
      if (o.clock.monotonic() >= deadline()) {
        stepDown('the fence deadline passed without a renewal');
        return undefined;
      }
      return { fencingToken: token };
    },
    stepDownForShutdown(reason) {
      handingOver = true;
      noMoreCampaigns.abort();
      fenceTimer?.cancel();
      if (role === 'leader') setRole('follower', reason, undefined);
    },
    async resign() {
      await (session ?? keptSession)?.resign(leaderKey).catch(() => {});
    },
    async close() {
      offHealth();
      stopping.abort();
      const s = session ?? keptSession;
      fenceTimer?.cancel();
      await loop?.catch(() => {});
      await (s ?? keptSession)?.close().catch(() => {});
    },
  };
}
