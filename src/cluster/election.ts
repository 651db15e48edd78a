// Leader election with self-fencing: sessions on the coordinator, one after another. Each opens,
// registers this replica's member record, follows the leader key and the members, and campaigns;
// once elected it leads until its session is lost or it steps down (leadership.ts: the fence
// deadline passed, another replica leads, a shutdown). Leadership is regained only by a fresh
// campaign on a fresh session. Every leader action (a leader hook, a leader-only job) asks for
// a permit, which checks the fence deadline (fence.ts) before it starts.

import type { Bus } from '../core/bus.ts';
import { type Clock } from '../core/clock.ts';
import { clockSleep } from '../core/process-control/clock-waits.ts';
import { exponentialBackoff } from '../core/process-control/backoff.ts';
import { ConfigError } from '../core/exit-codes.ts';
import type { Health, MemberRecord, Role } from '../core/events.ts';
import type { Logger } from '../core/log.ts';
import type { Campaign, Coordinator, Session } from './coordinator.ts';
import { createLeadership } from './leadership.ts';
import { createMemberList } from './member-list.ts';
import { errorText } from '../core/error-text.ts';

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

/** How long the first role may take before steward goes on as a follower. */
const FIRST_ROLE_WAIT_FACTOR = 1;

type CampaignOutcome =
  | { readonly kind: 'elected'; readonly token: string }
  | { readonly kind: 'failed'; readonly error: string }
  | { readonly kind: 'lost'; readonly reason: string }
  | { readonly kind: 'aborted' };

function whenAborted<T>(signal: AbortSignal, value: T): Promise<T> {
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(value), { once: true }));
}

/** Won, failed, the session lost, or the session ended here (`signal`): whichever comes first. */
function campaignOutcome(campaign: Campaign, s: Session, signal: AbortSignal): Promise<CampaignOutcome> {
  return Promise.race([
    campaign.elected.then(
      (e) => ({ kind: 'elected' as const, token: e.fencingToken }),
      (error: unknown) => ({ kind: 'failed' as const, error: errorText(error) }),
    ),
    s.lost.then((reason) => ({ kind: 'lost' as const, reason })),
    whenAborted(signal, { kind: 'aborted' as const }),
  ]);
}

export function createElection(o: ElectionOptions): Election {
  const log = o.log;
  const leaderKey = leaderKeyOf(o.scope);
  const membersPrefix = `${o.scope}/members/`;
  const memberKey = `${membersPrefix}${o.instanceId}`;
  const stopping = new AbortController();
  let session: Session | undefined;
  /** The session kept through a shutdown hand-over, for resign() and close(). */
  let keptSession: Session | undefined;
  let sessionAbort: AbortController | undefined;
  let loop: Promise<void> | undefined;
  let started = false;
  const members = createMemberList(o.bus);
  const leadership = createLeadership({
    ...o,
    memberKey,
    session: () => session,
    endSession: () => sessionAbort?.abort(),
  });
  const handingOver = (): boolean => leadership.handingOver.aborted;

  async function oneSession(first: boolean): Promise<void> {
    const abort = new AbortController();
    sessionAbort = abort;
    const signal = AbortSignal.any([abort.signal, stopping.signal]);
    const s = await o.coordinator.openSession({ ttlMs: o.ttlMs, instanceId: o.instanceId }, signal);
    session = s;
    try {
      const registerDeadline = o.clock.monotonic() + 2 * o.ttlMs;
      // After a restart with the same id, the old session's record lives until its TTL ends.
      while (!(await s.register(memberKey, leadership.record()))) {
        if (first && !started) {
          throw new ConfigError(`instance id ${JSON.stringify(o.instanceId)} is already registered by a live replica in ${o.scope}: set STEWARD_INSTANCE_ID to a unique id (host networking makes hostnames collide)`);
        }
        if (o.clock.monotonic() > registerDeadline) throw new Error(`member ${o.instanceId} still held by another session`);
        await clockSleep(o.clock, o.ttlMs / 2, signal);
      }
      s.observe(leaderKey, leadership.onLeader, signal);
      s.watchPrefix(membersPrefix, members.update, signal);
      if (handingOver()) return;
      const campaign = s.campaign(leaderKey, o.instanceId, AbortSignal.any([signal, leadership.handingOver]));
      const outcome = await campaignOutcome(campaign, s, signal);
      if (handingOver()) {
        // Stopping: never lead now; a campaign that won regardless gives the seat back at once.
        if (outcome.kind === 'elected') await s.resign(leaderKey).catch(() => {});
        return;
      }
      if (outcome.kind === 'elected') {
        if (!leadership.lead(outcome.token)) return;
        const end = await Promise.race([s.lost.then((reason) => `session lost: ${reason}`), whenAborted(signal, 'stepped down')]);
        if (leadership.role() === 'leader' && !stopping.signal.aborted) leadership.stepDown(end);
      } else if (outcome.kind === 'lost') {
        log.warn(`session lost (${outcome.reason}); starting a new one`);
      } else if (outcome.kind === 'failed' && !signal.aborted) {
        throw new Error(`campaign failed: ${outcome.error}`);
      }
    } finally {
      leadership.disarm();
      if (session === s) session = undefined;
      // During a hand-over the session stays open for resign() and is closed by close().
      if (handingOver()) keptSession = s;
      else await s.close().catch(() => {});
    }
  }

  async function run(): Promise<void> {
    const backoff = exponentialBackoff({ initialMs: 200, maxMs: Math.max(1000, o.ttlMs) });
    let first = true;
    while (!stopping.signal.aborted && !handingOver()) {
      try {
        await oneSession(first);
        backoff.reset();
      } catch (error) {
        if (error instanceof ConfigError) throw error;
        if (stopping.signal.aborted || handingOver()) return;
        const delay = backoff.next();
        log.warn(`cannot take part in the election (${errorText(error)}); retrying`, { retryInMs: delay });
        await clockSleep(o.clock, delay, stopping.signal).catch(() => {});
      }
      first = false;
    }
  }

  // The member record follows the app's health; the role is the election's own business.
  const offHealth = o.bus.on('health.changed', (e) => leadership.setHealth(e.health));

  return {
    async start(abort) {
      const known = leadership.firstRole();
      // A stop before the first role is known ends the election at once.
      const onAbort = (): void => stopping.abort();
      abort.addEventListener('abort', onAbort, { once: true });
      loop = run();
      const failed = loop.then(() => undefined);
      // The first role is known once elected or once another leader is seen; a cluster whose
      // leader is hard to reach should not keep the app from starting forever.
      const timeout = clockSleep(o.clock, o.ttlMs * FIRST_ROLE_WAIT_FACTOR, stopping.signal).catch(() => {});
      try {
        await Promise.race([known, failed, timeout]);
      } finally {
        started = true;
        abort.removeEventListener('abort', onAbort);
      }
      // From here on the loop only retries; nothing may reject unobserved.
      loop.catch(() => {});
      if (stopping.signal.aborted) return;
      leadership.noLeaderYet();
    },
    role: () => leadership.role(),
    leader: () => leadership.leader(),
    members: () => members.all(),
    permit: () => leadership.permit(),
    stepDownForShutdown(reason) {
      leadership.handOver(reason);
    },
    async resign() {
      await (session ?? keptSession)?.resign(leaderKey).catch(() => {});
    },
    async close() {
      offHealth();
      stopping.abort();
      const s = session ?? keptSession;
      leadership.disarm();
      await loop?.catch(() => {});
      await (s ?? keptSession)?.close().catch(() => {});
    },
  };
}
