// Replicas of steward for the rollout tests: each runs the web fixture on its own port, renders
// /app/config into its own file with reload = "restart", and rolls out under one lock. The apps
// append their ready and stop moments to one shared log, from which a test reads what a user
// would check: who was down when, and on which configuration each replica ended.

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeConfdir } from '../support/confdir.ts';
import { freePort } from '../support/operator.ts';
import { NODE, startSteward, type RunningSteward } from '../support/steward.ts';
import { until } from '../support/until.ts';

export const WEB = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'web.mjs');

export interface AppEvent {
  /** Monotonic ms (CLOCK_MONOTONIC is one clock for every process). */
  readonly at: number;
  readonly id: string;
  readonly event: 'ready' | 'stop';
  readonly config: string;
  readonly pid: number;
}

export interface RolloutLog {
  readonly path: string;
  entries(): AppEvent[];
  until(what: string, predicate: (entries: AppEvent[]) => boolean, timeoutMs?: number): Promise<AppEvent[]>;
}

export function rolloutLog(): RolloutLog {
  const path = join(mkdtempSync(join(tmpdir(), 'steward-rollout-')), 'apps.log');
  const entries = (): AppEvent[] => {
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
        const [at = '0', id = '', event = '', config = '', pid = '0'] = line.split(' ');
        return { at: Number(BigInt(at) / 1000n) / 1000, id, event: event as AppEvent['event'], config, pid: Number(pid) };
      })
      .sort((a, b) => a.at - b.at);
  };
  return {
    path,
    entries,
    until(what, predicate, timeoutMs = 60_000) {
      let seen: AppEvent[] = [];
      return until(what, () => {
        seen = entries();
        return predicate(seen) ? seen : undefined;
      }, timeoutMs, () => `apps:\n${seen.map((e) => `${e.at.toFixed(1)} ${e.id} ${e.event} ${e.config} ${e.pid}`).join('\n')}`);
    },
  };
}

export interface Replica {
  readonly id: string;
  readonly port: number;
  readonly steward: RunningSteward;
  /** The rendered configuration file. */
  readonly config: string;
  rendered(): string;
}

/** The environment every replica shares: the lock, fast health checks, a short rollout timeout. */
export function rolloutEnv(port: number): Record<string, string> {
  return {
    STEWARD_ROLLOUT_LOCK: 'web',
    STEWARD_HEALTH_HTTP: `http://127.0.0.1:${port}/`,
    STEWARD_HEALTH_START_PERIOD: '60s',
    STEWARD_HEALTH_START_INTERVAL: '100ms',
    STEWARD_HEALTH_INTERVAL: '200ms',
    STEWARD_HEALTH_RETRIES: '1',
    STEWARD_WAIT: '0',
    STEWARD_STOP_TIMEOUT: '5s',
  };
}

export async function startWebReplica(id: string, log: RolloutLog, env: Record<string, string>, port?: number): Promise<Replica> {
  const p = port ?? (await freePort());
  const confdir = makeConfdir(
    { 'app.toml': '[template]\nsrc = "app.conf.tmpl"\ndest = "$OUT/app.conf"\nkeys = ["/app/config"]\nreload = "restart"\n' },
    { 'app.conf.tmpl': '{{getv "/app/config"}}\n' },
  );
  const config = join(confdir.out, 'app.conf');
  const steward = startSteward([NODE, WEB], {
    env: {
      CONFD_CONFDIR: confdir.dir,
      STEWARD_INSTANCE_ID: id,
      APP_ID: id,
      APP_CONFIG: config,
      PORT: String(p),
      ROLLOUT_LOG: log.path,
      ...rolloutEnv(p),
      ...env,
    },
  });
  return { id, port: p, steward, config, rendered: () => readFileSync(config, 'utf8').trim() };
}

/** Each replica's down time: from its app's stop to the next app's ready, for stops after `from`. */
export function downIntervals(entries: readonly AppEvent[], from: number): { id: string; from: number; to: number }[] {
  const out: { id: string; from: number; to: number }[] = [];
  for (const stop of entries.filter((e) => e.event === 'stop' && e.at >= from)) {
    const ready = entries.find((e) => e.id === stop.id && e.event === 'ready' && e.at > stop.at);
    out.push({ id: stop.id, from: stop.at, to: ready?.at ?? Number.POSITIVE_INFINITY });
  }
  return out;
}

/** The most replicas down at one moment. */
export function mostDownAtOnce(intervals: readonly { from: number; to: number }[]): number {
  const edges = intervals.flatMap((i) => [{ at: i.from, d: 1 }, { at: i.to, d: -1 }]).sort((a, b) => a.at - b.at || a.d - b.d);
  let down = 0;
  let most = 0;
  for (const e of edges) {
    down += e.d;
    most = Math.max(most, down);
  }
  return most;
}

/** The configuration each replica's newest app serves. */
export function lastConfigs(entries: readonly AppEvent[]): Map<string, string> {
  const configs = new Map<string, string>();
  for (const e of entries) if (e.event === 'ready') configs.set(e.id, e.config);
  return configs;
}

/** Resolves with steward's first log line (stderr) matching `pattern`, at or after line `from`. */
export function logLine(steward: RunningSteward, pattern: RegExp, timeoutMs = 60_000, from = 0): Promise<string> {
  return until(`a log line matching ${pattern}`, () => steward.stderr().split('\n').slice(from).find((l) => pattern.test(l)), timeoutMs, () => `stderr:\n${steward.stderr()}`);
}

/** How many log lines steward has written so far (for `logLine`'s `from`). */
export function logLines(steward: RunningSteward): number {
  return steward.stderr().split('\n').length - 1;
}
