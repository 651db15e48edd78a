// What this replica believes about its election and tells the rest of steward: its role, the
// leader it knows of, its member record and, while it leads, the fencing token, good only until
// the fence deadline (fence.ts). It steps down when that deadline passes, when the store shows
// another replica leading, and for a shutdown; the session loop (election.ts) feeds it. The first
// role is always told, "follower" too: parts wait for it before they start.

import type { Health, MemberRecord, Role } from '../core/events.ts';
import type { Session } from './coordinator.ts';
import type { ElectionOptions } from './election.ts';
import { createFence } from './fence.ts';

export interface LeadershipOptions extends Pick<ElectionOptions, 'instanceId' | 'host' | 'address' | 'ttlMs' | 'initialHealth' | 'bus' | 'log' | 'clock'> {
  /** Where this replica's member record lives. */
  readonly memberKey: string;
  /** The session campaigning now, if any: its renewals move the fence deadline, and it holds the member record. */
  readonly session: () => Session | undefined;
  /** Ends the current session: only a fresh campaign on a fresh session may lead again. */
  readonly endSession: () => void;
}

export interface Leadership {
  role(): Role;
  leader(): string | undefined;
  /** This replica's member record, as registered and as updated on every role or health change. */
  record(): string;
  /** The app's health changed: the member record says so (the role is the election's own business). */
  setHealth(health: Health): void;
  /** Won a campaign with `fencingToken`: leads from now on, fenced; false when the fence deadline has passed already. */
  lead(fencingToken: string): boolean;
  /** Stops leading and ends the session. */
  stepDown(reason: string): void;
  /** The leader the store shows (undefined: none), from the session's observe(). */
  onLeader(value: string | undefined): void;
  /** While leader and before the fence deadline: the fencing token; otherwise undefined. */
  permit(): { readonly fencingToken: string } | undefined;
  /** Resolves once the first role is told. */
  firstRole(): Promise<void>;
  /** Tells "follower" as the first role, unless one was told already: no leader in time. */
  noLeaderYet(): void;
  /** Aborted when a shutdown hand-over begins: no campaign may lead after it. */
  readonly handingOver: AbortSignal;
  /** Begins the hand-over: becomes follower, so that listeners stop leader work; no resign yet. */
  handOver(reason: string): void;
  /** Stops watching the fence deadline: the session is over. */
  disarm(): void;
}

export function createLeadership(o: LeadershipOptions): Leadership {
  const log = o.log;
  const since = o.clock.now();
  const handOverBegun = new AbortController();
  const handingOver = (): boolean => handOverBegun.signal.aborted;
  let role: Role = 'follower';
  let health: Health = o.initialHealth ?? 'none';
  let token: string | undefined;
  let leaderId: string | undefined;
  let firstRoleKnown: (() => void) | undefined;
  const fence = createFence({
    ttlMs: o.ttlMs,
    clock: o.clock,
    lastRenewalSentAt: () => o.session()?.lastRenewalSentAt(),
    onPassed: () => stepDown('the fence deadline passed without a renewal'),
  });

  function record(): string {
    const m: MemberRecord = { id: o.instanceId, host: o.host, address: o.address, role, state: handingOver() ? 'stopping' : 'running', health, since };
    return JSON.stringify(m);
  }

  function setRole(next: Role, reason: string, fencingToken: string | undefined): void {
    if (next === 'leader' && handingOver()) return;
    const changed = next !== role || firstRoleKnown !== undefined;
    role = next;
    token = next === 'leader' ? fencingToken : undefined;
    if (next === 'leader') leaderId = o.instanceId;
    firstRoleKnown?.();
    firstRoleKnown = undefined;
    if (!changed) return;
    log.info(`role: ${next} (${reason})`, { fencingToken: token });
    o.bus.emit('role.changed', { role: next, leader: leaderId, fencingToken: token, reason });
    updateRecord();
  }

  function updateRecord(): void {
    const s = o.session();
    if (s !== undefined) void s.update(o.memberKey, record()).catch(() => {});
  }

  function stepDown(reason: string): void {
    fence.disarm();
    if (role === 'leader') setRole('follower', reason, undefined);
    o.endSession();
  }

  return {
    setHealth(next) {
      if (next === health) return;
      health = next;
      updateRecord();
    },
    role: () => role,
    leader: () => leaderId,
    record,
    lead(fencingToken) {
      if (fence.passed()) {
        log.warn('elected, but past the fence deadline already; campaigning again');
        return false;
      }
      setRole('leader', 'elected', fencingToken);
      fence.arm();
      return true;
    },
    stepDown,
    onLeader(value) {
      if (value === leaderId) return;
      leaderId = value;
      // The store says another replica leads: this one's leadership was taken away (a lease
      // revoked or a session destroyed by an operator); stop acting at once. "No leader" is not
      // enough: watches may report the moment between two leaders after this one's election.
      if (role === 'leader' && value !== undefined && value !== o.instanceId && !handingOver()) stepDown(`the store shows ${value} as leader`);
      o.bus.emit('leader.changed', { leader: value });
      // Someone else leads: our role is known (follower) even before our own campaign settles.
      if (value !== undefined && value !== o.instanceId && firstRoleKnown !== undefined) setRole('follower', `${value} leads`, undefined);
    },
    permit() {
      if (role !== 'leader' || token === undefined) return undefined;
      if (fence.passed()) {
        stepDown('the fence deadline passed without a renewal');
        return undefined;
      }
      return { fencingToken: token };
    },
    firstRole: () =>
      new Promise<void>((resolve) => {
        firstRoleKnown = resolve;
      }),
    noLeaderYet() {
      if (firstRoleKnown === undefined) return;
      firstRoleKnown = undefined;
      log.info('no leader yet; starting as follower');
      o.bus.emit('role.changed', { role: 'follower', leader: leaderId, fencingToken: undefined, reason: 'no leader yet' });
    },
    handingOver: handOverBegun.signal,
    handOver(reason) {
      handOverBegun.abort();
      fence.disarm();
      if (role === 'leader') setRole('follower', reason, undefined);
    },
    disarm: () => fence.disarm(),
  };
}
