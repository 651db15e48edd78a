// Starts the app as its own process group with inherited stdio, and, when steward holds the
// terminal, hands the terminal to it. Node's spawn offers only setsid (no terminal at all) or
// steward's own group (Ctrl-C would reach steward and then the app a second time), so the app is
// spawned with posix_spawn: own group, default signal dispositions, empty mask.

import { EXIT, StewardError } from '../core/exit-codes.ts';
import { sendSignal } from '../core/process-control/signal.ts';
import type { Credentials, Libc } from './libc.ts';

export interface AppSpec {
  readonly command: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly credentials: Credentials | undefined;
  /** Hand the terminal on stdin to the app (stdin is a TTY and steward is in its foreground). */
  readonly takeTerminal: boolean;
}

export interface SpawnedApp {
  readonly pid: number;
  /** The app's process group: its own pid. */
  readonly pgid: number;
}

const ENOENT = 2;
const EACCES = 13;
const ENOEXEC = 8;
const EISDIR = 21;
const ENOTDIR = 20;

function envList(env: Readonly<Record<string, string | undefined>>): string[] {
  const list: string[] = [];
  for (const [k, v] of Object.entries(env)) if (v !== undefined) list.push(`${k}=${v}`);
  return list;
}

export function spawnApp(libc: Libc, spec: AppSpec): SpawnedApp {
  const [file, ...rest] = spec.command;
  if (file === undefined) throw new StewardError('no command to run', EXIT.usage);
  const result = libc.spawn({
    file,
    argv: [file, ...rest],
    env: envList(spec.env),
    ownProcessGroup: true,
    credentials: spec.credentials,
  });
  if (result < 0) {
    const errno = -result;
    if (errno === ENOENT || errno === ENOTDIR) throw new StewardError(`${file}: command not found`, EXIT.notFound);
    if (errno === EACCES || errno === ENOEXEC || errno === EISDIR) {
      throw new StewardError(`${file}: not executable (errno ${errno})`, EXIT.notExecutable);
    }
    throw new StewardError(`${file}: could not start (errno ${errno})`, EXIT.notExecutable);
  }
  const pid = result;
  if (spec.takeTerminal) {
    libc.setForegroundGroup(0, pid);
    // The app may have tried to read before it owned the terminal and been stopped by SIGTTIN.
    // Gone already, it fails quietly: the reaper will report its exit.
    sendSignal({ group: pid }, 'SIGCONT', libc.kill);
  }
  return { pid, pgid: pid };
}

/** True when stdin is a terminal whose foreground group is steward's: then the app gets it. */
export function canTakeTerminal(libc: Libc): boolean {
  return libc.isatty(0) && libc.foregroundGroup(0) === libc.processGroup();
}
