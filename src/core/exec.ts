// steward's one way to run a command beside the app (check and reload commands, hooks, jobs),
// through node:child_process. Each command gets its own process group so that a timeout stops
// everything it started (a `sh -c 'a | b'` included). It follows the rule of child-rule.ts for every caller:
// the environment without steward's secrets, the user it is given, steward's working directory,
// and its output line by line into the log (child-output.ts), besides a tail for the caller.

import type { ChildProcess } from 'node:child_process';
import { trackNodeSpawns } from '../init/node-children.ts';
import { createOutputCapture } from './child-output.ts';
import { childEnv, type ChildSource, type ChildUser } from './child-rule.ts';
import { systemClock, type Clock } from './clock.ts';
import { errorText } from './error-text.ts';
import type { Logger } from './log.ts';
import { terminate, type Termination } from './process-control/terminate.ts';

export type CommandSpec =
  | { readonly argv: readonly string[]; readonly shell?: undefined }
  /** Run through /bin/sh -c, as confd runs check_cmd and reload_cmd. */
  | { readonly shell: string; readonly argv?: undefined };

export interface RunOptions {
  /** Which child this is: every line of its output is logged under it. */
  readonly source: ChildSource;
  /** Where its output lines go. */
  readonly log: Logger;
  readonly timeoutMs: number;
  /** What the environment is built from (steward's own by default); secrets are removed from it. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Who it runs as (childUser() decides); undefined: steward's own user. */
  readonly user?: ChildUser;
  /** The output's rate limit runs on it (the system clock by default). */
  readonly clock?: Clock;
  /** Aborting stops the command like a timeout does. */
  readonly signal?: AbortSignal;
  /** Bytes of combined output kept (default 4096). */
  readonly keepOutput?: number;
  /** Told the command's pid, which is also its process group id, once it runs. */
  readonly onSpawn?: (pid: number) => void;
  /**
   * Asked in the same turn as the spawn, after every await: false starts nothing. A leader
   * action checks its fence deadline here, as late as it can be checked.
   */
  readonly mayStart?: () => boolean;
}

export interface CommandResult {
  readonly ok: boolean;
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  readonly timedOut: boolean;
  readonly aborted: boolean;
  /** The last bytes of stdout and stderr, interleaved as written. */
  readonly output: string;
  readonly durationMs: number;
  /** Why it failed, in one line (spawn error, exit status, signal, timeout). */
  readonly failure: string | undefined;
}

/** After SIGTERM on timeout, how long the command's group has before SIGKILL. */
const KILL_GRACE_MS = 2000;

/**
 * Loads what runCommand needs (node:child_process, the spawn tracking) before the first command:
 * a hook on a leader hand-over's critical path must not pay for loading them.
 */
export async function preloadCommandRunner(): Promise<void> {
  await trackNodeSpawns();
  await import('node:child_process');
}

/** A command that never ran: refused by mayStart, or its spawn failed. */
function notRun(failure: string, aborted: boolean, durationMs: number): CommandResult {
  return { ok: false, exitCode: undefined, signal: undefined, timedOut: false, aborted, output: '', durationMs, failure };
}

function spawnFailure(error: unknown): string {
  return `could not start: ${errorText(error)}`;
}

// Node's spawn, not a wrapper library: a check every second pays for each spawn, and execa's
// promise, stream and option machinery about doubled its CPU (docs/benchmarks.md, health checks).
export async function runCommand(spec: CommandSpec, options: RunOptions): Promise<CommandResult> {
  await trackNodeSpawns();
  const { spawn } = await import('node:child_process');
  const [file, ...args] = spec.shell !== undefined ? ['/bin/sh', '-c', spec.shell] : spec.argv;
  const keep = options.keepOutput ?? 4096;
  const clock = options.clock ?? systemClock();
  const started = process.hrtime.bigint();
  const elapsedMs = (): number => Number(process.hrtime.bigint() - started) / 1e6;
  let output = '';
  let timedOut = false;
  let aborted = false;
  if (options.mayStart !== undefined && !options.mayStart()) return notRun('not allowed to start', true, 0);

  const user = options.user;
  let child: ChildProcess;
  try {
    child = spawn(file ?? '', args, {
      env: childEnv(options.env ?? process.env, user),
      // No cwd: steward's own, which is also the app's. libuv drops supplementary groups when it
      // sets the ids (child-rule.ts says so to users).
      ...(user === undefined ? {} : { uid: user.credentials.uid, gid: user.credentials.gid }),
      // Own process group: a timeout kills the whole pipeline, and a Ctrl-C at the terminal
      // (which reaches the app's group) does not reach steward's commands.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      shell: false,
    });
  } catch (error) {
    // Arguments Node refuses before any spawn (an empty file name, a NUL byte).
    return notRun(spawnFailure(error), false, elapsedMs());
  }
  // A program that is missing or not executable: 'error' instead of 'exit', then 'close'.
  let spawnError: unknown;
  child.once('error', (error) => {
    spawnError ??= error;
  });
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  if (child.pid !== undefined) options.onSpawn?.(child.pid);
  const capture = createOutputCapture({ source: options.source, log: options.log, clock });
  for (const stream of ['stdout', 'stderr'] as const) {
    const readable = child[stream];
    readable?.setEncoding('utf8');
    readable?.on('data', (chunk: string) => {
      output = (output + chunk).slice(-keep);
      capture.write(stream, chunk);
    });
  }
  // The status is the command's own exit. A process it started in another session (setsid) can
  // hold its output open long after that, out of reach of the group kill: the output is read
  // until the timeout at most, never waited for beyond it.
  let exited: { readonly code: number | null; readonly signal: NodeJS.Signals | null } | undefined;
  const stopReading = (): void => {
    child.stdout?.destroy();
    child.stderr?.destroy();
  };
  child.once('exit', (code, signal) => {
    exited = { code, signal };
    if (timedOut || aborted) stopReading();
  });

  let termination: Termination | undefined;
  const stop = (): void => {
    // Once: a timeout then an abort must not leave a second SIGKILL timer behind.
    if (termination !== undefined || child.pid === undefined) return;
    termination = terminate({ target: { group: child.pid }, signal: 'SIGTERM', graceMs: KILL_GRACE_MS, clock: systemClock() });
  };
  const timer = setTimeout(() => {
    if (exited === undefined) timedOut = true;
    else stopReading();
    stop();
  }, options.timeoutMs);
  const onAbort = (): void => {
    aborted = true;
    if (exited !== undefined) stopReading();
    stop();
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) onAbort();

  await closed;
  capture.end();
  clearTimeout(timer);
  termination?.cancel();
  options.signal?.removeEventListener('abort', onAbort);

  const exitCode = exited?.code ?? undefined;
  const signal = exited?.signal ?? undefined;
  let failure: string | undefined;
  if (timedOut) failure = `timed out after ${options.timeoutMs}ms`;
  else if (aborted) failure = 'stopped';
  else if (spawnError !== undefined && exited === undefined) failure = spawnFailure(spawnError);
  else if (signal !== undefined) failure = `killed by ${signal}`;
  else if (exitCode !== 0) failure = `exit status ${exitCode}`;
  return {
    ok: failure === undefined,
    exitCode,
    signal,
    timedOut,
    aborted,
    output: output.trimEnd(),
    durationMs: elapsedMs(),
    failure,
  };
}
