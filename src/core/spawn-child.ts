// The child rule (child-rule.ts) for a child that runs as long as steward does (a sidecar):
// runCommand waits for its command and keeps a tail of its output, which a long-running child
// has no use for. The rule itself is the same: the environment without steward's secrets, the
// user it is given (HOME included), steward's working directory, its own process group, and its
// output line by line into the log, or straight to steward's own stdout and stderr on request.

import type { ChildProcess } from 'node:child_process';
import { trackNodeSpawns } from '../init/node-children.ts';
import { createOutputCapture } from './child-output.ts';
import { childEnv, type ChildSource, type ChildUser } from './child-rule.ts';
import type { Clock } from './clock.ts';
import type { Logger } from './log.ts';

export type ChildOutput = 'capture' | 'inherit';

export interface SpawnChildOptions {
  readonly source: ChildSource;
  readonly log: Logger;
  readonly clock: Clock;
  /** What the environment is built from; secrets are removed from it. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly user: ChildUser | undefined;
  readonly output: ChildOutput;
}

export interface ChildEnd {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface SpawnedChild {
  /** Its pid, which is also its process group id. */
  readonly pid: number;
  /** Resolves once it has exited and been reaped (libuv reaps it: Node spawned it). */
  readonly exited: Promise<ChildEnd>;
}

/** Loads node:child_process and the spawn tracking before the first spawn. */
export async function loadChildSpawner(): Promise<(argv: readonly string[], o: SpawnChildOptions) => SpawnedChild> {
  await trackNodeSpawns();
  const { spawn } = await import('node:child_process');
  return (argv, o) => {
    const [file = '', ...args] = argv;
    const user = o.user;
    const child: ChildProcess = spawn(file, args, {
      env: childEnv(o.env, user),
      ...(user === undefined ? {} : { uid: user.credentials.uid, gid: user.credentials.gid }),
      // Own process group (and session): a reload or stop reaches this child's group only, and a
      // Ctrl-C at the terminal, which goes to the app's group, does not reach it.
      detached: true,
      stdio: o.output === 'inherit' ? ['ignore', 'inherit', 'inherit'] : ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<ChildEnd>((resolve) => {
      // 'error' without a pid is a failed spawn (ENOENT, EACCES): reported as exit 127 / 126.
      child.once('error', (error: NodeJS.ErrnoException) => {
        if (child.pid === undefined) resolve({ code: error.code === 'ENOENT' ? 127 : 126, signal: null });
      });
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    if (o.output === 'capture') {
      const capture = createOutputCapture({ source: o.source, log: o.log, clock: o.clock });
      let open = 2;
      for (const stream of ['stdout', 'stderr'] as const) {
        const readable = child[stream];
        readable?.setEncoding('utf8');
        readable?.on('data', (chunk: string) => capture.write(stream, chunk));
        readable?.once('close', () => {
          if (--open === 0) capture.end();
        });
      }
    }
    return { pid: child.pid ?? -1, exited };
  };
}
