// Process measurements the start-up, versus-confd and soak benchmarks share: a run's start and
// end, a running process's resident memory and CPU time, a confdir of N resources.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EtcdServer } from '../test/support/etcd.ts';
import { lineQueue } from './support.ts';

/** USER_HZ on Linux. */
const TICKS_PER_SECOND = 100;

export function realtimeMs(): number {
  return performance.timeOrigin + performance.now();
}

export interface Timed {
  /** exec -> the app (`/bin/date +%s%N`, its line on stdout) running, ms; NaN without such a line. */
  readonly appMs: number;
  /** spawn -> exit of the whole process, ms. */
  readonly wallMs: number;
}

/** Runs `argv` to its end; when the command's last word is `+%s%N` its date line says when the app ran. */
export function timed(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const t0 = realtimeMs();
    const p0 = performance.now();
    const p = spawn(argv[0] ?? '', argv.slice(1), { stdio: ['ignore', 'pipe', 'ignore'], env });
    let out = '';
    p.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    p.on('error', reject);
    p.on('close', () => {
      const wallMs = performance.now() - p0;
      const line = /^\d{19}$/m.exec(out)?.[0];
      resolve({ appMs: line === undefined ? Number.NaN : Number(line) / 1e6 - t0, wallMs });
    });
  });
}

export interface Running {
  readonly proc: ChildProcess;
  line(): Promise<string>;
  readonly pid: number;
  stop(): Promise<void>;
}

export function start(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Running {
  const proc = spawn(argv[0] ?? '', argv.slice(1), { stdio: ['ignore', 'pipe', 'ignore'], env });
  return {
    proc,
    line: lineQueue(proc.stdout),
    pid: proc.pid ?? -1,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((res) => proc.once('exit', res));
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

export function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return Number(m?.[1] ?? Number.NaN) / 1024;
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds of a process and of the children it has reaped. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): utime is the 14th field overall.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
  return ticks / TICKS_PER_SECOND;
}

export function commandExists(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v "$1"`, 'sh', name]).status === 0;
}

export interface ConfdirOptions {
  readonly resources: number;
  readonly prefix: string;
  /** confd's own reload command (confd runs it in a shell); steward sends SIGHUP itself. */
  readonly reloadCmd?: string;
}

/** A confd-layout directory (conf.d/, templates/, out/) of `resources` resources over `prefix`/rN/. */
export function confdir(options: ConfdirOptions): string {
  const dir = mkdtempSync(join(tmpdir(), 'steward-bench-'));
  for (const sub of ['conf.d', 'templates', 'out']) mkdirSync(join(dir, sub));
  writeFileSync(join(dir, 'templates', 'r.tmpl'), '{{ range gets "/*" }}{{ base .Key }} = {{ .Value }}\n{{ end }}count {{ len (ls "/") }}\n');
  const reload = options.reloadCmd === undefined ? '' : `reload_cmd = ${JSON.stringify(options.reloadCmd)}\n`;
  for (let r = 0; r < options.resources; r++) {
    const dest = join(dir, 'out', `r${r}.conf`);
    writeFileSync(join(dir, 'conf.d', `r${r}.toml`), `[template]\nsrc = "r.tmpl"\ndest = "${dest}"\nprefix = "${options.prefix}/r${r}"\nkeys = ["/"]\n${reload}`);
  }
  return dir;
}

export async function fill(etcd: EtcdServer, prefix: string, resources: number, keysPerResource: number): Promise<void> {
  const puts: Promise<number>[] = [];
  for (let r = 0; r < resources; r++) {
    for (let k = 0; k < keysPerResource; k++) {
      puts.push(etcd.put(`${prefix}/r${r}/k${k}`, `value-${r}-${k}`));
      if (puts.length >= 64) await Promise.all(puts.splice(0));
    }
  }
  await Promise.all(puts);
}
