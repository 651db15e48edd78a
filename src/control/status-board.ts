// Keeps what /status, `steward --health` and `steward --status` answer, from the bus and the
// parts' views alone. It subscribes before any part starts, so that it sees every event.

import type { Bus } from '../core/bus.ts';
import type { Clock } from '../core/clock.ts';
import type { Events, MemberRecord, Role } from '../core/events.ts';
import type { Health, HealthState, JobState, ResourceStatus, StatusDocument } from './status-document.ts';
import type { OperatorViews } from './views.ts';

interface ResourceTally {
  lastRender: string | null;
  lastOutcome: string | null;
  revision: number;
  lastError: string | null;
  reloads: number;
  dest: string;
  /** Rendered to a file at least once: the app has it, whatever came later. */
  good: boolean;
}

export interface StatusBoard {
  health(): Health;
  document(): StatusDocument;
  stop(): void;
}

export interface StatusBoardOptions {
  readonly bus: Bus;
  readonly clock: Clock;
  readonly version: string;
  readonly views: OperatorViews;
}

const GOOD_OUTCOMES = new Set(['written', 'unchanged', 'would-change']);

/** Each job as the jobs part reports it, with its last run. */
function jobStates(views: OperatorViews): JobState[] {
  return (views.jobs?.status() ?? []).map((j) => {
    const last = j.history.at(-1);
    return {
      name: j.name,
      kind: j.kind,
      schedule: j.schedule,
      when: j.when,
      running: j.running !== undefined,
      lastRun: last?.startedAt ?? null,
      ok: last?.ok ?? null,
      exitCode: last?.exitCode ?? null,
      signal: last?.signal ?? null,
      durationMs: last === undefined ? null : Math.round(last.durationMs),
      nextRun: j.nextRun ?? null,
    };
  });
}

export function createStatusBoard(o: StatusBoardOptions): StatusBoard {
  const { bus, clock, views } = o;
  const startedAtMs = clock.now();
  const startedMono = clock.monotonic();
  const iso = (): string => new Date(clock.now()).toISOString();
  let app: { pid: number; startedAt: string } | undefined;
  let restarts = 0;
  let lastExit: StatusDocument['app']['lastExit'] = null;
  let appGone = false;
  let stopping: string | undefined;
  let check: Events['health.changed'] | undefined;
  let notifyStatus: string | null = null;
  const resources = new Map<string, ResourceTally>();
  let backend: { name: string; connected: boolean; lastError: string | null } | undefined;
  let role: Role | undefined;
  let leader: string | undefined;
  let holdsToken = false;
  let members: readonly MemberRecord[] = [];
  let elected = false;
  const locks = new Set<string>();

  function tally(name: string, dest: string): ResourceTally {
    let t = resources.get(name);
    if (t === undefined) {
      t = { lastRender: null, lastOutcome: null, revision: 0, lastError: null, reloads: 0, dest, good: false };
      resources.set(name, t);
    }
    return t;
  }

  const offs = [
    bus.on('app.started', (e) => {
      app = { pid: e.pid, startedAt: iso() };
      appGone = false;
      notifyStatus = null;
    }),
    bus.on('app.exited', (e) => {
      lastExit = { code: e.exit.code, signal: e.exit.signal, status: e.exit.status, at: iso() };
      if (e.restarting) restarts++;
      appGone = true;
    }),
    bus.on('resource.rendered', (e) => {
      const t = tally(e.resource, e.dest);
      t.lastRender = iso();
      t.lastOutcome = e.outcome;
      t.lastError = e.error ?? null;
      if (e.outcome === 'written') t.revision++;
      if (GOOD_OUTCOMES.has(e.outcome)) t.good = true;
    }),
    bus.on('resource.reloaded', (e) => {
      tally(e.resource, e.dest).reloads++;
    }),
    bus.on('backend.status', (e) => {
      backend = { name: e.backend, connected: e.state === 'ok', lastError: e.error ?? backend?.lastError ?? null };
    }),
    bus.on('role.changed', (e) => {
      elected = true;
      role = e.role;
      leader = e.leader;
      holdsToken = e.fencingToken !== undefined;
    }),
    bus.on('leader.changed', (e) => {
      elected = true;
      leader = e.leader;
    }),
    bus.on('members.changed', (e) => {
      elected = true;
      members = e.members;
    }),
    bus.on('lock.changed', (e) => {
      if (e.held) locks.add(e.path);
      else locks.delete(e.path);
    }),
    bus.on('health.changed', (e) => {
      check = e;
    }),
    bus.on('app.status', (e) => {
      notifyStatus = e.status;
    }),
    bus.on('shutdown', (e) => {
      stopping = e.reason;
    }),
  ];

  function resourceList(): ResourceStatus[] {
    const known = views.templates?.resources() ?? [...resources.entries()].map(([name, t]) => ({ name, dest: t.dest }));
    return known.map(({ name, dest }) => {
      const t = resources.get(name);
      return {
        name,
        dest,
        lastRender: t?.lastRender ?? null,
        lastOutcome: t?.lastOutcome ?? null,
        revision: t?.revision ?? 0,
        lastError: t?.lastError ?? null,
        reloads: t?.reloads ?? 0,
      };
    });
  }

  function health(): Health {
    if (stopping !== undefined) return { status: 'unhealthy', reason: `steward is stopping (${stopping})` };
    if (appGone && lastExit !== null) {
      const how = lastExit.signal === null ? `with status ${lastExit.code ?? lastExit.status}` : `on ${lastExit.signal}`;
      return { status: 'unhealthy', reason: `the app exited ${how}` };
    }
    if (app === undefined) return { status: 'starting', reason: 'the app has not started yet' };
    if (check !== undefined) {
      const output = check.output.trim().split('\n').at(-1) ?? '';
      return { status: check.health, reason: `health check: ${check.health}${output === '' ? '' : ` (${output})`}` };
    }
    const pending = resourceList().filter((r) => resources.get(r.name)?.good !== true);
    if (pending.length > 0) return { status: 'starting', reason: `not rendered yet: ${pending.map((r) => r.name).join(', ')}` };
    const count = resources.size;
    return { status: 'healthy', reason: count === 0 ? 'the app is running' : `the app is running and ${count} resource(s) are rendered` };
  }

  function document(): StatusDocument {
    const h = health();
    return {
      version: o.version,
      startedAt: new Date(startedAtMs).toISOString(),
      uptimeSeconds: Math.round((clock.monotonic() - startedMono) / 100) / 10,
      health: h,
      app: { pid: appGone ? null : (app?.pid ?? null), startedAt: app?.startedAt ?? null, restarts, lastExit, health: h.status, notifyStatus },
      resources: resourceList(),
      backend: backend === undefined ? null : { ...backend },
      election: elected
        ? { role: role ?? null, leader: leader ?? null, members: members.map((m) => m.id), holdsFencingToken: role === 'leader' && holdsToken }
        : null,
      locks: [...locks],
      jobs: jobStates(views),
    };
  }

  return {
    health,
    document,
    stop() {
      for (const off of offs) off();
    },
  };
}

export type { HealthState };
