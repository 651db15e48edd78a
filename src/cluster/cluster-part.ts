// The election part: joins the election before the app starts, keeps this replica's role
// current, and tells the app (hooks, role file, role signal, templates through the bus). On
// shutdown it hands over first: follower hook, leader-only work stopped, resign; only then is
// the app stopped, so a follower takes over at once and the app never acts as primary beside it.

import type { Settings } from '../config/options.ts';
import { writeFileAtomic } from '../core/atomic-file.ts';
import type { Bus } from '../core/bus.ts';
import type { ChildUsers } from '../core/child-rule.ts';
import type { Clock } from '../core/clock.ts';
import type { Events, Health } from '../core/events.ts';
import { preloadCommandRunner } from '../core/exec.ts';
import { createHookRunner, hookRunnerUsers, parseHook, type HookCall } from '../core/hooks.ts';
import type { Logger } from '../core/log.ts';
import type { Part, StopContext } from '../core/part.ts';
import { settlesWithin } from '../core/process-control/deadline.ts';
import type { ClusterView } from './cluster-view.ts';
import type { Coordinator } from './coordinator.ts';
import { createElection, electionScope, type Election } from './election.ts';
import { defaultAdvertiseAddress, defaultInstanceId } from './identity.ts';

/** The settings the election part reads (parts.ts picks them). */
export const CLUSTER_SETTINGS = [
  'election', 'instanceId', 'advertiseAddr', 'keyPrefix', 'electionTtl', 'hookTimeout', 'hookUser', 'roleFile', 'roleSignal',
  'onLeader', 'onFollower', 'onRoleChange', 'onMembersChange',
] as const;
export type ClusterSettings = Pick<Settings, (typeof CLUSTER_SETTINGS)[number]>;

export interface ClusterPartOptions {
  readonly settings: ClusterSettings;
  /** Opens the store the replicas coordinate through (select-coordinator.ts). */
  readonly openCoordinator: () => Promise<Coordinator>;
  /** steward's environment: HOSTNAME names this replica in its member record; hooks get it too. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly view: ClusterView;
  /** Who hooks run as: the app's user unless STEWARD_HOOK_USER says otherwise. */
  readonly users: ChildUsers;
  /** `starting` when a health check is configured (health.changed then keeps it current), else `none`. */
  readonly initialHealth: Health;
  readonly bus: Bus;
  readonly log: Logger;
  readonly clock: Clock;
}

export function createClusterPart(o: ClusterPartOptions): Part {
  const { settings, bus, clock } = o;
  const log = o.log.child('cluster');
  const name = settings.election ?? '';
  const instanceId = settings.instanceId ?? defaultInstanceId();
  const hooks = {
    leader: parseHook(settings.onLeader, 'STEWARD_ON_LEADER'),
    follower: parseHook(settings.onFollower, 'STEWARD_ON_FOLLOWER'),
    roleChange: parseHook(settings.onRoleChange, 'STEWARD_ON_ROLE_CHANGE'),
    membersChange: parseHook(settings.onMembersChange, 'STEWARD_ON_MEMBERS_CHANGE'),
  };
  const hookUsers = hookRunnerUsers(o.users, settings.hookUser);
  const roleHooks = createHookRunner({ timeoutMs: settings.hookTimeout, env: o.env, log, ...hookUsers });
  const memberHooks = createHookRunner({ timeoutMs: settings.hookTimeout, env: o.env, log, ...hookUsers });
  let coordinator: Coordinator | undefined;
  let election: Election | undefined;
  let lastRoleHooks: Promise<void> = Promise.resolve();
  const unsubscribe: (() => void)[] = [];

  function onRole(e: Events['role.changed']): void {
    if (settings.roleFile !== undefined) {
      try {
        writeFileAtomic(settings.roleFile, `${e.role}\n`);
      } catch (error) {
        log.error(`cannot write the role file ${settings.roleFile}`, { error: (error as Error).message });
      }
    }
    if (settings.roleSignal !== undefined) bus.emit('app.reload', { signal: settings.roleSignal, reason: `role changed to ${e.role}` });
    const env = {
      STEWARD_ROLE: e.role,
      STEWARD_INSTANCE_ID: instanceId,
      STEWARD_LEADER: e.leader ?? '',
      STEWARD_FENCING_TOKEN: e.fencingToken ?? '',
    };
    const calls: HookCall[] = [];
    const specific = e.role === 'leader' ? hooks.leader : hooks.follower;
    // Starting a leader hook is a leader action: it must still be within the fence deadline.
    const mayStart = e.role === 'leader' ? () => election?.permit() !== undefined : undefined;
    if (specific !== undefined) calls.push({ name: `on-${e.role}`, command: specific, env, ...(mayStart ? { mayStart } : {}) });
    if (hooks.roleChange !== undefined) calls.push({ name: 'on-role-change', command: hooks.roleChange, env, ...(mayStart ? { mayStart } : {}) });
    lastRoleHooks = roleHooks.transition(calls);
  }

  function onMembers(e: Events['members.changed']): void {
    if (hooks.membersChange === undefined) return;
    const env = {
      STEWARD_INSTANCE_ID: instanceId,
      STEWARD_ROLE: election?.role() ?? 'follower',
      STEWARD_LEADER: election?.leader() ?? '',
      STEWARD_MEMBERS: e.members.map((m) => m.id).join(','),
      STEWARD_MEMBERS_JOINED: e.joined.join(','),
      STEWARD_MEMBERS_LEFT: e.left.join(','),
    };
    void memberHooks.transition([{ name: 'on-members-change', command: hooks.membersChange, env }]);
  }

  return {
    name: 'cluster',
    async prepare(abort) {
      unsubscribe.push(bus.on('role.changed', onRole), bus.on('members.changed', onMembers));
      // Hooks run on the hand-over's critical path: their runner is loaded while the store is opened.
      if (Object.values(hooks).some((h) => h !== undefined)) void preloadCommandRunner().catch(() => {});
      coordinator = await o.openCoordinator();
      const e = createElection({
        coordinator,
        scope: electionScope(settings.keyPrefix, name),
        instanceId,
        host: o.env['HOSTNAME'] ?? instanceId,
        address: settings.advertiseAddr ?? defaultAdvertiseAddress(),
        ttlMs: settings.electionTtl,
        initialHealth: o.initialHealth,
        bus,
        log,
        clock,
      });
      election = e;
      o.view.bind(e);
      log.info(`joining election ${name} as ${instanceId}`, { backend: coordinator.name, source: coordinator.source });
      await e.start(abort);
    },
    async beforeAppStop(ctx: StopContext) {
      if (election === undefined) return;
      const wasLeader = election.role() === 'leader';
      // Follower hook and leader-only work stopped first, then resign, then (after this) the
      // app: the new leader is elected only once this replica has stopped acting as one.
      election.stepDownForShutdown('steward is stopping');
      if (wasLeader) await settlesWithin(lastRoleHooks, ctx.deadline - clock.monotonic(), clock);
      await election.resign();
    },
    async stop() {
      for (const off of unsubscribe) off();
      roleHooks.stop();
      memberHooks.stop();
      await election?.close();
      await coordinator?.close().catch(() => {});
    },
  };
}
