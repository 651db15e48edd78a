// Runs bin/steward for a test, by default as real PID 1 of a new pid namespace
// (`unshare --pid --fork --mount-proc`), and gives the test what a user would observe:
// output lines, the exit status, the processes under steward.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { until } from './until.ts';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const STEWARD = join(ROOT, 'bin', 'steward');
export const NODE = process.execPath;
export const APP = join(ROOT, 'test', 'fixtures', 'app.mjs');

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface RunningSteward {
  readonly proc: ChildProcess;
  /** steward's pid as seen from the test (outside the namespace). */
  stewardPid(): Promise<number>;
  /** Resolves with the first stdout line matching `pattern` (already seen lines count). */
  line(pattern: RegExp, timeoutMs?: number): Promise<string>;
  stdoutLines(): readonly string[];
  stderr(): string;
  readonly exited: Promise<Exit>;
  signal(signal: NodeJS.Signals): Promise<void>;
  write(text: string): void;
}

export interface StartOptions {
  readonly env?: Record<string, string | undefined>;
  /** Run as PID 1 of a new pid namespace (default true). */
  readonly pid1?: boolean;
  readonly cwd?: string;
  /**
   * A tmpfs of `size` mounted at `path` (an existing directory) in steward's own mount namespace
   * (with pid1 only). The test reaches it through /proc/<steward's pid>/root.
   */
  readonly tmpfs?: { readonly path: string; readonly size: string };
}

const running = new Set<ChildProcess>();

// Every steward a test starts gets a control socket of its own in a temporary directory, unless
// the test names one: the default, /run/steward.sock, is shared by every steward on the machine,
// so parallel tests would replace each other's sockets.
const socketDir = mkdtempSync(join(tmpdir(), 'steward-test-sockets-'));
process.once('exit', () => rmSync(socketDir, { recursive: true, force: true }));
let socketCount = 0;

function controlSocketEnv(env: Record<string, string | undefined> | undefined): Record<string, string> {
  if (env !== undefined && 'STEWARD_CONTROL_SOCKET' in env) return {};
  if (process.env['STEWARD_CONTROL_SOCKET'] !== undefined) return {};
  socketCount++;
  return { STEWARD_CONTROL_SOCKET: join(socketDir, `${socketCount}.sock`) };
}

/** Kills every steward a test left running (use in afterEach), with its whole namespace. */
export async function stopAllStewards(): Promise<void> {
  const waits: Promise<unknown>[] = [];
  for (const proc of running) {
    if (proc.exitCode !== null || proc.signalCode !== null) continue;
    for (const kid of childrenOf(proc.pid ?? -1)) {
      try {
        process.kill(kid, 'SIGKILL');
      } catch {
        // Gone.
      }
    }
    proc.kill('SIGKILL');
    waits.push(new Promise((r) => proc.once('exit', r)));
  }
  running.clear();
  await Promise.all(waits);
}

export function startSteward(args: readonly string[], options: StartOptions = {}): RunningSteward {
  const pid1 = options.pid1 ?? true;
  const env: Record<string, string | undefined> = { ...process.env, STEWARD_LOG_FORMAT: 'json', ...controlSocketEnv(options.env), ...options.env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  // --mount-proc gives the namespace its own mounts; sh mounts the tmpfs and becomes steward.
  const command = options.tmpfs === undefined
    ? [STEWARD, ...args]
    : ['sh', '-ec', 'mount -t tmpfs -o size="$1" tmpfs "$2"; shift 2; exec "$@"', 'sh', options.tmpfs.size, options.tmpfs.path, STEWARD, ...args];
  const proc = pid1
    ? spawn('unshare', ['--pid', '--fork', '--mount-proc', ...command], { env, cwd: options.cwd ?? ROOT, stdio: 'pipe' })
    : spawn(STEWARD, [...args], { env, cwd: options.cwd ?? ROOT, stdio: 'pipe' });
  running.add(proc);
  proc.once('exit', () => running.delete(proc));
  const lines: string[] = [];
  let stderr = '';
  const waiters: { pattern: RegExp; resolve: (l: string) => void }[] = [];
  let partial = '';
  proc.stdout?.setEncoding('utf8');
  proc.stdout?.on('data', (chunk: string) => {
    partial += chunk;
    let nl: number;
    while ((nl = partial.indexOf('\n')) !== -1) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      lines.push(line);
      for (const w of [...waiters]) {
        if (w.pattern.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<Exit>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));

  async function stewardPid(): Promise<number> {
    if (!pid1) return proc.pid ?? -1;
    // unshare --fork: steward is unshare's only child.
    return until('steward to start under unshare', () => {
      const kids = childrenOf(proc.pid ?? -1);
      return kids[0];
    }, 5000);
  }

  return {
    proc,
    stewardPid,
    line(pattern, timeoutMs = 30_000) {
      const seen = lines.find((l) => pattern.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`no stdout line matching ${pattern} within ${timeoutMs}ms; stdout:\n${lines.join('\n')}\nstderr:\n${stderr}`));
        }, timeoutMs);
        waiters.push({
          pattern,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
        void exited.then(() => setTimeout(() => {
          clearTimeout(timer);
          reject(new Error(`steward exited before printing ${pattern}; stdout:\n${lines.join('\n')}\nstderr:\n${stderr}`));
        }, 50));
      });
    },
    stdoutLines: () => lines,
    stderr: () => stderr,
    exited,
    async signal(signal) {
      process.kill(await stewardPid(), signal);
    },
    write(text) {
      proc.stdin?.write(text);
    },
  };
}

/** Runs steward to completion. */
export async function runSteward(args: readonly string[], options: StartOptions = {}): Promise<Exit & { stdout: string[]; stderr: string }> {
  const s = startSteward(args, options);
  s.proc.stdin?.end();
  const exit = await s.exited;
  // Let the last output chunks arrive.
  await new Promise((r) => setImmediate(r));
  return { ...exit, stdout: [...s.stdoutLines()], stderr: s.stderr() };
}

export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
      for (const w of text.split(' ')) if (w.trim() !== '') out.push(Number(w));
    }
  } catch {
    // The process is gone.
  }
  return out;
}

/** One-letter state from /proc/<pid>/stat (R, S, T, Z, ...), or undefined when gone. */
export function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

/** The app's pid outside the namespace: steward's direct child that is not Node's own. */
export async function appPid(s: RunningSteward): Promise<number> {
  const steward = await s.stewardPid();
  return until('the app to start', () => childrenOf(steward)[0], 5000);
}

/** Parses steward's JSON log lines from stderr. */
export function logRecords(stderr: string): Record<string, unknown>[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
