// Hooks: commands steward runs when something happens to this replica (role, members, locks).
// A hook's value is split into words as a shell would and run without a shell. Hooks run one at
// a time with a timeout, and a new transition stops whatever its predecessor still runs, so the
// app never hears of a role after the next one.

import type { Logger } from './log.ts';
import { childUser, type ChildUser, type ChildUsers } from './child-rule.ts';
import { runCommand } from './exec.ts';
import { splitWords, WordsError } from './words.ts';
import { ConfigError } from './exit-codes.ts';

export interface HookCall {
  /** For logs: which hook (on-leader, on-follower, ...). */
  readonly name: string;
  readonly command: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Checked right before the hook starts; false skips it (a leader hook past the fence deadline). */
  readonly mayStart?: () => boolean;
}

export interface HookRunner {
  /** Stops what runs and what waits, then runs `calls` in order. Resolves when they are done or superseded. */
  transition(calls: readonly HookCall[]): Promise<void>;
  /** Stops everything (shutdown). */
  stop(): void;
}

/** Parses a hook setting once, at start-up, so a quoting mistake is a configuration error. */
export function parseHook(value: string | undefined, source: string): string[] | undefined {
  if (value === undefined) return undefined;
  try {
    const words = splitWords(value);
    return words.length === 0 ? undefined : words;
  } catch (error) {
    if (error instanceof WordsError) throw new ConfigError(`${source}: ${error.message} in ${JSON.stringify(value)}`);
    throw error;
  }
}

export interface HookRunnerOptions {
  readonly timeoutMs: number;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly log: Logger;
  /** STEWARD_USER, resolved: hooks run as the app's user by default. */
  readonly appUser: ChildUser | undefined;
  /** STEWARD_HOOK_USER, resolved: who hooks run as instead. */
  readonly hookUser: ChildUser | undefined;
}

/** The users a hook runner needs, STEWARD_HOOK_USER resolved (a ConfigError at start-up names it). */
export function hookRunnerUsers(users: ChildUsers, hookUser: string | undefined): { appUser: ChildUser | undefined; hookUser: ChildUser | undefined } {
  return { appUser: users.app, hookUser: hookUser === undefined ? undefined : users.resolve(hookUser, 'STEWARD_HOOK_USER') };
}

export function createHookRunner(o: HookRunnerOptions): HookRunner {
  const user = childUser('hook', o.appUser, o.hookUser);
  let current: AbortController | undefined;
  let chain: Promise<void> = Promise.resolve();

  return {
    transition(calls) {
      current?.abort();
      const abort = new AbortController();
      current = abort;
      const previous = chain;
      chain = (async () => {
        // The superseded hooks have been told to stop; wait until they have.
        await previous.catch(() => {});
        for (const call of calls) {
          if (abort.signal.aborted) return;
          if (call.mayStart !== undefined && !call.mayStart()) {
            o.log.warn(`${call.name} hook not started: no longer allowed (fence deadline passed)`);
            continue;
          }
          const result = await runCommand(
            { argv: call.command },
            {
              source: { kind: 'hook', name: call.name },
              log: o.log,
              timeoutMs: o.timeoutMs,
              env: { ...o.env, ...call.env },
              ...(user === undefined ? {} : { user }),
              signal: abort.signal,
              ...(call.mayStart === undefined ? {} : { mayStart: call.mayStart }),
            },
          );
          if (result.failure === 'not allowed to start') {
            o.log.warn(`${call.name} hook not started: no longer allowed (fence deadline passed)`);
            continue;
          }
          if (result.ok) o.log.info(`${call.name} hook done`, { ms: Math.round(result.durationMs) });
          else if (result.aborted) o.log.info(`${call.name} hook stopped by a newer transition`);
          else o.log.error(`${call.name} hook failed (${result.failure})`, { output: result.output });
        }
      })();
      return chain;
    },
    stop() {
      current?.abort();
    },
  };
}
