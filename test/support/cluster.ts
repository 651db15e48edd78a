// Replicas of steward for election tests: each runs the test app, and its hooks append a
// timestamped line to one shared log, so that a test can check what a user would check: who led
// when, and that no leader action of one replica started inside another's leadership.

import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { APP, NODE, startSteward, type RunningSteward } from './steward.ts';
import { until } from './until.ts';

export interface LogEntry {
  readonly at: number;
  readonly id: string;
  readonly event: string;
  readonly token: string;
}

export interface ClusterLog {
  readonly path: string;
  entries(): LogEntry[];
  /**
   * Records what the test did to a replica: `killed` and `frozen` end its acting window (a dead
   * or stopped process cannot act), `revoked` ends its leadership (an operator took it away);
   * after `resumed` it must not act as leader before it steps down.
   */
  mark(id: string, event: 'killed' | 'frozen' | 'resumed' | 'revoked'): void;
  /** Resolves once `predicate` holds over the entries (polled: a file has no event to await). */
  until(what: string, predicate: (entries: LogEntry[]) => boolean, timeoutMs?: number): Promise<LogEntry[]>;
}

export function clusterLog(): ClusterLog {
  const path = join(mkdtempSync(join(tmpdir(), 'steward-cluster-')), 'hooks.log');
  const entries = (): LogEntry[] => {
    let text = '';
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      return [];
    }
    return text
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [at = '0', id = '', event = '', token = ''] = line.split(' ');
        return { at: Number(at) / 1e6, id, event, token };
      })
      .sort((a, b) => a.at - b.at);
  };
  return {
    path,
    entries,
    mark(id, event) {
      appendFileSync(path, `${BigInt(Date.now()) * 1_000_000n} ${id} ${event}\n`);
    },
    until(what, predicate, timeoutMs = 20_000) {
      let seen: LogEntry[] = [];
      const holds = (): LogEntry[] | undefined => {
        seen = entries();
        return predicate(seen) ? seen : undefined;
      };
      return until(what, holds, timeoutMs, () => `log:\n${seen.map((x) => `${x.at.toFixed(3)} ${x.id} ${x.event} ${x.token}`).join('\n')}`);
    },
  };
}

/**
 * The hook environment: each hook appends "<ns> <id> <event> <token>", and a leader-only job
 * appends an `action` line every second, so that leader actions keep happening all along.
 */
export function hookEnv(log: ClusterLog): Record<string, string> {
  const line = (event: string): string => `sh -c 'echo $(date +%s%N) $STEWARD_INSTANCE_ID ${event} $STEWARD_FENCING_TOKEN >> ${log.path}'`;
  return {
    STEWARD_ON_LEADER: line('leader'),
    STEWARD_ON_FOLLOWER: line('follower'),
    STEWARD_JOB_ACT_SCHEDULE: '* * * * * *',
    STEWARD_JOB_ACT_COMMAND: line('action'),
    STEWARD_JOB_ACT_WHEN: 'leader',
  };
}

export function startReplica(id: string, env: Record<string, string>, log: ClusterLog): RunningSteward {
  return startSteward([NODE, APP], { env: { STEWARD_INSTANCE_ID: id, ...hookEnv(log), ...env } });
}

/**
 * Resolves once `replica` logged `start-up finished`: its own start-up work (parts started, the
 * start-up memory given back, which blocks its event loop for tens of ms of CPU) is over. A
 * timing bound on what a running replica does must not include what a starting one still does.
 */
export function startedUp(replica: RunningSteward, timeoutMs = 30_000): Promise<true> {
  return until('steward to log "start-up finished"', () => replica.stderr().includes('"msg":"start-up finished"') || undefined, timeoutMs, () => `stderr:\n${replica.stderr()}`);
}

/** The last event of each replica, read as its current role. */
export function rolesOf(entries: readonly LogEntry[]): Map<string, string> {
  const roles = new Map<string, string>();
  for (const e of entries) if (e.event === 'leader' || e.event === 'follower') roles.set(e.id, e.event);
  return roles;
}

export function leaders(entries: readonly LogEntry[]): string[] {
  return [...rolesOf(entries)].filter(([, r]) => r === 'leader').map(([id]) => id);
}

/**
 * Every leader action (a `leader` or `action` line) of one replica must fall outside every other
 * replica's leadership, which runs from its `leader` line to its next `follower` line. Returns
 * the violations, as text.
 */
export function overlaps(entries: readonly LogEntry[]): string[] {
  const intervals: { id: string; from: number; to: number }[] = [];
  const open = new Map<string, number>();
  for (const e of entries) {
    if (e.event === 'leader') open.set(e.id, e.at);
    if ((e.event === 'follower' || e.event === 'killed' || e.event === 'frozen' || e.event === 'revoked') && open.has(e.id)) {
      intervals.push({ id: e.id, from: open.get(e.id) ?? 0, to: e.at });
      open.delete(e.id);
    }
  }
  for (const [id, from] of open) intervals.push({ id, from, to: Number.POSITIVE_INFINITY });
  const problems: string[] = [];
  // A replica resumed after a freeze must step down before anything else.
  const resumedAt = new Map<string, number>();
  for (const e of entries) {
    // (Not after `revoked`: an operator's revocation reaches the old leader only with the store's
    // next word, a watch event or renewal; until then it may still start an action, which the
    // overlap check above still holds against the new leader's leadership.)
    if (e.event === 'resumed') resumedAt.set(e.id, e.at);
    if (e.event === 'follower') resumedAt.delete(e.id);
    if ((e.event === 'leader' || e.event === 'action') && resumedAt.has(e.id)) problems.push(`${e.id} ${e.event} at ${e.at.toFixed(3)} after resuming from a freeze, before stepping down`);
  }
  for (const e of entries) {
    if (e.event !== 'leader' && e.event !== 'action') continue;
    for (const i of intervals) {
      if (i.id !== e.id && e.at > i.from && e.at < i.to) problems.push(`${e.id} ${e.event} at ${e.at.toFixed(3)} inside ${i.id}'s leadership ${i.from.toFixed(3)}..${i.to.toFixed(3)}`);
    }
  }
  return problems;
}
