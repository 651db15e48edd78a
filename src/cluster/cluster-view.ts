// What the rest of steward sees of the election: functions for templates (role(), isLeader(),
// leader(), members()) and a guard for leader-only jobs. Created before the election starts
// and bound to it once it runs, so parts can be wired in any order.

import type { Role } from '../core/events.ts';
import type { Guard } from '../jobs/guards.ts';
import type { ExtraFunctions } from '../render/index.ts';
import type { Election } from './election.ts';

export interface ClusterView {
  readonly extras: ExtraFunctions;
  readonly leaderGuard: Guard;
  bind(election: Election): void;
}

/** Names templates call; a resource whose template mentions one re-renders on role or membership changes. */
export const CLUSTER_FUNCTIONS = ['role', 'isLeader', 'leader', 'members'] as const;

export function createClusterView(onLeadershipLost: (listener: (reason: string) => void) => () => void): ClusterView {
  let election: Election | undefined;
  const role = (): Role => election?.role() ?? 'follower';
  return {
    extras: {
      role: () => role(),
      isLeader: () => role() === 'leader',
      leader: () => election?.leader() ?? '',
      members: () =>
        (election?.members() ?? []).map((m) => ({ id: m.id, host: m.host, address: m.address, role: m.role, state: m.state, health: m.health ?? 'none' })),
    },
    leaderGuard: {
      permit: () => election?.permit(),
      onLost: (listener) => onLeadershipLost(listener),
    },
    bind(e) {
      election = e;
    },
  };
}
