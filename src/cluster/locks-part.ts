// STEWARD_FS_LOCKS: locks on shared volumes that this replica takes and holds while it runs
// (docker-cluster-controller's lockfiles, without their race). Each uses the file-lock primitive
// of the election (atomic creation, heartbeat, atomic stale takeover, loss detection). The
// state reaches jobs (`when = lock:<path>`), hooks (STEWARD_ON_LOCK_ACQUIRED / _LOST) and
// templates (hasLock(path)); locks are released on shutdown.

import { resolve } from 'node:path';
import { acquireLock, tryAcquireLock, type HeldLock } from './file-lock.ts';
import { defaultInstanceId } from './identity.ts';
import { fenceMargin } from './fence.ts';
import type { Settings } from '../config/options.ts';
import { exponentialBackoff, sleep } from '../core/process-control/backoff.ts';
import type { Bus } from '../core/bus.ts';
import type { ChildUsers } from '../core/child-rule.ts';
import type { Clock } from '../core/clock.ts';
import { createHookRunner, hookRunnerUsers, parseHook } from '../core/hooks.ts';
import type { Logger } from '../core/log.ts';
import type { Part } from '../core/part.ts';
import type { Guard } from '../jobs/guards.ts';
import type { ExtraAnswer } from '../render/index.ts';
import { errorText } from '../core/error-text.ts';

export interface LocksPart extends Part {
  /** The guard of a configured lock path; undefined for a path that is not one. */
  guard(path: string): Guard | undefined;
  /** For templates: whether this replica holds the lock at `path` now. */
  readonly extras: { readonly hasLock: (path: unknown) => boolean };
}

/** The settings the locks part reads (parts.ts picks them). */
export const LOCKS_SETTINGS = ['fsLocks', 'fsLockTtl', 'instanceId', 'hookTimeout', 'hookUser', 'onLockAcquired', 'onLockLost'] as const;
export type LocksSettings = Pick<Settings, (typeof LOCKS_SETTINGS)[number]>;

export interface LocksPartOptions {
  readonly settings: LocksSettings;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Who hooks run as: the app's user unless STEWARD_HOOK_USER says otherwise. */
  readonly users: ChildUsers;
  readonly bus: Bus;
  readonly log: Logger;
  readonly clock: Clock;
}

interface LockState {
  readonly path: string;
  held: HeldLock | undefined;
}

export function createLocksPart(o: LocksPartOptions): LocksPart {
  const { settings, clock, bus } = o;
  const log = o.log.child('locks');
  const owner = settings.instanceId ?? defaultInstanceId();
  const ttlMs = settings.fsLockTtl;
  const states = new Map<string, LockState>(settings.fsLocks.map((p) => [resolve(p), { path: resolve(p), held: undefined }]));
  const stopping = new AbortController();
  const loops: Promise<void>[] = [];
  const onAcquired = parseHook(settings.onLockAcquired, 'STEWARD_ON_LOCK_ACQUIRED');
  const onLost = parseHook(settings.onLockLost, 'STEWARD_ON_LOCK_LOST');
  const hookUsers = hookRunnerUsers(o.users, settings.hookUser);
  const hooks = createHookRunner({ timeoutMs: settings.hookTimeout, env: o.env, log, ...hookUsers });

  // A holder fences itself like a leader: past its last heartbeat + TTL - margin, the lock may
  // already be someone else's.
  const valid = (s: LockState): HeldLock | undefined =>
    s.held !== undefined && clock.monotonic() < s.held.lastRefreshSentAt() + ttlMs - fenceMargin(ttlMs) ? s.held : undefined;

  function announce(s: LockState, held: boolean, reason: string): void {
    const generation = s.held?.generation;
    log.info(`${held ? 'holding' : 'not holding'} lock ${s.path} (${reason})`, { generation });
    bus.emit('lock.changed', { path: s.path, held, generation, reason });
    const command = held ? onAcquired : onLost;
    if (command !== undefined) {
      void hooks.transition([{
        name: held ? 'on-lock-acquired' : 'on-lock-lost',
        command,
        env: { STEWARD_LOCK_PATH: s.path, STEWARD_INSTANCE_ID: owner, STEWARD_FENCING_TOKEN: held && generation !== undefined ? String(generation) : '' },
      }]);
    }
  }

  async function hold(s: LockState): Promise<void> {
    const backoff = exponentialBackoff({ initialMs: 500, maxMs: Math.max(1000, ttlMs) });
    while (!stopping.signal.aborted) {
      try {
        const held = s.held ?? (await acquireLock({ path: s.path, ttlMs, owner, clock }, stopping.signal));
        if (s.held === undefined) {
          s.held = held;
          announce(s, true, 'acquired');
        }
        backoff.reset();
        const reason = await Promise.race([
          held.lost,
          new Promise<undefined>((r) => stopping.signal.addEventListener('abort', () => r(undefined), { once: true })),
        ]);
        if (reason === undefined) return;
        s.held = undefined;
        announce(s, false, reason);
      } catch (error) {
        if (stopping.signal.aborted) return;
        // A missing directory or an I/O error: reported, never taken for success.
        log.error(`cannot take lock ${s.path}`, { error: errorText(error) });
        await sleep(backoff.next(), stopping.signal).catch(() => {});
      }
    }
  }

  function guardOf(s: LockState): Guard {
    return {
      permit: () => {
        const held = valid(s);
        return held === undefined ? undefined : { fencingToken: String(held.generation) };
      },
      onLost: (listener) =>
        bus.on('lock.changed', (e) => {
          if (e.path === s.path && !e.held) listener(e.reason);
        }),
    };
  }

  return {
    name: 'locks',
    extras: {
      hasLock: Object.assign(
        (path: unknown) => {
          const s = states.get(resolve(String(path)));
          return s !== undefined && valid(s) !== undefined;
        },
        // For a template rendered in the render thread: every configured path's answer now.
        { snapshot: (): ExtraAnswer => ({ kind: 'by-path', answers: Object.fromEntries([...states].map(([p, s]) => [p, valid(s) !== undefined])), otherwise: false }) },
      ),
    },
    guard(path) {
      const s = states.get(resolve(path));
      return s === undefined ? undefined : guardOf(s);
    },
    async prepare() {
      // One attempt each before the app starts, so the first render already knows hasLock().
      for (const s of states.values()) {
        try {
          s.held = await tryAcquireLock({ path: s.path, ttlMs, owner, clock });
          if (s.held !== undefined) announce(s, true, 'acquired');
        } catch (error) {
          log.error(`cannot take lock ${s.path}`, { error: errorText(error) });
        }
      }
    },
    run() {
      for (const s of states.values()) loops.push(hold(s));
    },
    async stop() {
      stopping.abort();
      hooks.stop();
      await Promise.allSettled(loops);
      for (const s of states.values()) {
        const held = s.held;
        s.held = undefined;
        if (held !== undefined) {
          await held.release().catch(() => {});
          bus.emit('lock.changed', { path: s.path, held: false, generation: held.generation, reason: 'released on shutdown' });
        }
      }
    },
  };
}
