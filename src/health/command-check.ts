// STEWARD_HEALTH_CMD: a command run without a shell (its words split as a shell would), unless
// it is written `sh -c '...'`. It runs as steward's other commands do (runCommand: own process
// group, output kept, stopped at its timeout), with the app's pid as STEWARD_APP_PID and in
// place of `{pid}` in its words. Exit status 0 is healthy.

import type { ChildUser } from '../core/child-rule.ts';
import type { Logger } from '../core/log.ts';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { runCommand } from '../core/exec.ts';
import { ConfigError } from '../core/exit-codes.ts';
import { KEEP_OUTPUT, type Check } from './check.ts';

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * A check that cannot run at all is a configuration error, found at start rather than reported
 * as an unhealthy app later: the program must exist and be executable, where exec will look.
 */
export function checkRunnable(file: string, env: Readonly<Record<string, string | undefined>>, source: string): void {
  if (file.includes('/')) {
    if (!executable(file)) throw new ConfigError(`${source}: ${file} is not an executable file`);
    return;
  }
  const dirs = (env['PATH'] ?? DEFAULT_PATH).split(delimiter).filter((d) => d !== '');
  if (!dirs.some((dir) => executable(join(dir, file)))) {
    throw new ConfigError(`${source}: command not found: ${file} (searched PATH=${dirs.join(delimiter)})`);
  }
}

/** Who a command check runs as and where its output is logged (the child rule, core/child-rule.ts). */
export interface CheckRunner {
  readonly log: Logger;
  readonly user: ChildUser | undefined;
  /** Whose check it is, in its output's log lines: the app unless a sidecar's. */
  readonly name?: string;
}

export function commandCheck(words: readonly string[], env: Readonly<Record<string, string | undefined>>, runner: CheckRunner): Check {
  return {
    description: `command ${words.join(' ')}`,
    async run(pid, timeoutMs, signal) {
      const argv = words.map((w) => w.replaceAll('{pid}', String(pid)));
      const result = await runCommand(
        { argv },
        { source: { kind: 'check', name: runner.name ?? 'app' }, log: runner.log, user: runner.user, timeoutMs, env: { ...env, STEWARD_APP_PID: String(pid) }, signal, keepOutput: KEEP_OUTPUT },
      );
      if (result.ok) return { ok: true, output: result.output };
      return { ok: false, output: result.output === '' ? (result.failure ?? 'failed') : `${result.failure}: ${result.output}` };
    },
  };
}
