// Runs a real single-node etcd for a test: free loopback ports, a throw-away data dir (on tmpfs
// when there is one, so fsync costs nothing), optional TLS with the committed test certificates,
// and the faults tests need: kill, restart on the same ports and data, SIGSTOP/SIGCONT, compaction.
//
// Tests that need etcd skip when the binary is missing, except under CI=true, where they run and
// fail on the missing binary: `describe('...', { skip: etcdSkipReason() }, ...)`.

import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import https from 'node:https';
import http from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { Etcd3 } from 'etcd3';
import type { BackendOptions, BackendStatus, Update, WatchListener } from '../../src/backends/backend.ts';
import { testTlsFiles } from './consul/tls.ts';
import { backendOptions } from './backend-options.ts';

const NOT_INSTALLED = 'etcd is not installed (Debian: apt-get install -y etcd-server; or set STEWARD_TEST_ETCD to its path)';

/** The etcd binary: $STEWARD_TEST_ETCD, else `etcd` on PATH; undefined when there is none. */
export function etcdBinary(): string | undefined {
  const explicit = process.env['STEWARD_TEST_ETCD'];
  const candidates = explicit ? [explicit] : (process.env['PATH'] ?? '').split(delimiter).filter(Boolean).map((d) => join(d, 'etcd'));
  for (const file of candidates) {
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

export function etcdAvailable(): boolean {
  return etcdBinary() !== undefined;
}

/**
 * For node:test's `skip` option: a reason when etcd is missing, false when the test should run.
 * Under CI=true it is always false, so a missing etcd fails the test instead of hiding it.
 */
/**
 * One sample from a plain-HTTP etcd's /metrics on its client URL (etcd 3.4 serves them there),
 * for what etcd alone can tell: how many watch streams and watchers a client holds open.
 */
export async function etcdMetric(etcd: EtcdServer, sample: string): Promise<number> {
  const text = await (await fetch(`${etcd.endpoint}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  if (line === undefined) throw new Error(`etcd reports no metric ${sample}`);
  return Number(line.slice(sample.length + 1));
}

export function etcdSkipReason(): string | false {
  if (etcdAvailable() || process.env['CI'] === 'true') return false;
  return `SKIPPED: ${NOT_INSTALLED}`;
}

/** Files a client needs to talk to a TLS etcd (paths). */
export interface EtcdClientTls {
  readonly ca: string;
  /** Present when the server requires client certificates. */
  readonly cert: string | undefined;
  readonly key: string | undefined;
}

export interface StartEtcdOptions {
  /** Serve clients over TLS with test/support/consul/tls (server SANs include 127.0.0.1). */
  readonly tls?: boolean | { readonly clientCertAuth?: boolean };
  readonly name?: string;
  readonly extraArgs?: readonly string[];
  /** How long start-up and restarts may take (default 20 s). */
  readonly startTimeoutMs?: number;
}

export interface EtcdServer {
  /** `http://127.0.0.1:PORT` (https in TLS mode). */
  readonly endpoint: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly dataDir: string;
  readonly tls: EtcdClientTls | undefined;
  /** The current process's pid (undefined while it is down). */
  readonly pid: number | undefined;
  readonly running: boolean;
  /** Stops etcd for good (SIGTERM, SIGKILL if it lingers) and removes its data dir. Idempotent. */
  stop(): Promise<void>;
  /** Sends `signal` (default SIGKILL) and waits for the exit; the data dir stays for restart(). */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts etcd again on the same ports and data dir (stopping it first if it runs). */
  restart(): Promise<void>;
  /** SIGSTOP, resolved once every thread has stopped: etcd keeps its sockets but answers nothing. */
  pause(): Promise<void>;
  /** SIGCONT, resolved once it runs again. */
  resume(): Promise<void>;
  /** Puts and returns the revision of the write. */
  put(key: string, value: string | Uint8Array): Promise<number>;
  get(key: string): Promise<string | undefined>;
  /** Deletes `key` (and everything below it when `prefix`); returns the revision after it. */
  delete(key: string, options?: { readonly prefix?: boolean }): Promise<number>;
  /** The store's current revision. */
  revision(): Promise<number>;
  /** Compacts (physically) at `revision` (default: the current one) and returns it. */
  compact(revision?: number): Promise<number>;
  /** Creates `username` with the root role and turns authentication on; the helpers then log in. */
  enableAuth(username: string, password: string): Promise<void>;
  /** The last lines etcd logged, for failure messages. */
  logs(): string;
}

const HELPER_DEADLINE_MS = 5000;
const LOG_LINES_KEPT = 200;

export async function startEtcd(options: StartEtcdOptions = {}): Promise<EtcdServer> {
  const binary = etcdBinary();
  if (binary === undefined) {
    throw new Error(`${NOT_INSTALLED}${process.env['CI'] === 'true' ? ', and CI=true requires the etcd tests to run' : ''}`);
  }
  const tlsMode = options.tls === undefined || options.tls === false ? undefined : options.tls === true ? {} : options.tls;
  const files = testTlsFiles();
  const clientTls: EtcdClientTls | undefined =
    tlsMode === undefined
      ? undefined
      : {
          ca: files.caFile,
          cert: tlsMode.clientCertAuth ? files.clientCertFile : undefined,
          key: tlsMode.clientCertAuth ? files.clientKeyFile : undefined,
        };
  const scheme = tlsMode ? 'https' : 'http';
  const name = options.name ?? 'steward-test';
  const startTimeoutMs = options.startTimeoutMs ?? 20_000;
  const dataDir = mkdtempSync(join(scratchDir(), 'steward-etcd-'));

  let clientPort = 0;
  let peerPort = 0;
  let proc: ChildProcess | undefined;
  let paused = false;
  let stopped = false;
  let helper: Etcd3 | undefined;
  let helperAuth: { username: string; password: string } | undefined;
  const log: string[] = [];

  const args = (): string[] => {
    const client = `${scheme}://127.0.0.1:${clientPort}`;
    const peer = `http://127.0.0.1:${peerPort}`;
    const list = [
      `--name=${name}`,
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=${name}=${peer}`,
      '--initial-cluster-state=new',
      // A single member elects itself after one election timeout: keep start-up short.
      '--heartbeat-interval=10',
      '--election-timeout=100',
      '--logger=zap',
      '--log-outputs=stderr',
    ];
    if (tlsMode) {
      list.push(`--cert-file=${files.serverCertFile}`, `--key-file=${files.serverKeyFile}`);
      if (tlsMode.clientCertAuth) list.push('--client-cert-auth', `--trusted-ca-file=${files.caFile}`);
    }
    return [...list, ...(options.extraArgs ?? [])];
  };

  const killOnExit = (): void => {
    try {
      if (proc?.pid !== undefined && proc.exitCode === null && proc.signalCode === null) process.kill(proc.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  process.once('exit', killOnExit);

  const spawnOnce = async (): Promise<void> => {
    const env: Record<string, string> = {};
    // An ETCD_* variable from the developer's shell would silently reconfigure the test server.
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('ETCD_')) env[k] = v;
    const child = spawn(binary, args(), { stdio: ['ignore', 'ignore', 'pipe'], env });
    proc = child;
    paused = false;
    const ready = new Promise<void>((resolve, reject) => {
      let partial = '';
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`etcd did not become ready within ${startTimeoutMs} ms:\n${tail(log)}`));
      }, startTimeoutMs);
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (chunk: string) => {
        partial += chunk;
        let nl: number;
        while ((nl = partial.indexOf('\n')) !== -1) {
          const line = partial.slice(0, nl);
          partial = partial.slice(nl + 1);
          log.push(line);
          if (log.length > LOG_LINES_KEPT) log.shift();
          if (line.includes('serving client traffic') || line.includes('ready to serve client requests')) {
            clearTimeout(timer);
            resolve();
          }
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`etcd exited during start-up (${signal ?? `status ${code}`}):\n${tail(log)}`));
      });
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    await ready;
    await awaitHealthy(`${scheme}://127.0.0.1:${clientPort}/health`, clientTls, startTimeoutMs);
  };

  const start = async (firstStart: boolean): Promise<void> => {
    // Free ports are found by binding port 0 and letting go: another process may take one in
    // between, so a first start that loses that race tries again with new ports.
    for (let attempt = 1; ; attempt++) {
      if (firstStart) {
        const [c, p] = await freePorts(2);
        clientPort = c!;
        peerPort = p!;
      }
      try {
        await spawnOnce();
        return;
      } catch (err) {
        const inUse = log.some((l) => l.includes('address already in use'));
        if (!firstStart || !inUse || attempt >= 3) throw err;
      }
    }
  };

  const alive = (): boolean => proc !== undefined && proc.exitCode === null && proc.signalCode === null;

  const waitExit = (child: ChildProcess): Promise<void> =>
    child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));

  const closeHelper = (): void => {
    helper?.close();
    helper = undefined;
  };

  const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    const child = proc;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    closeHelper();
    child.kill(signal);
    // A stopped process only acts on SIGTERM/SIGINT once it runs again.
    if (paused) child.kill('SIGCONT');
    paused = false;
    const escalate = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await waitExit(child);
    clearTimeout(escalate);
  };

  const client = async (): Promise<Etcd3> => {
    if (helper) return helper;
    const { Etcd3 } = await import('etcd3');
    helper = new Etcd3({
      hosts: [`${scheme}://127.0.0.1:${clientPort}`],
      ...(clientTls ? { credentials: credentialsFor(clientTls) } : {}),
      ...(helperAuth ? { auth: helperAuth } : {}),
      // A channel of its own: gRPC's shared one may still be backing off from before a restart.
      grpcOptions: { 'grpc.use_local_subchannel_pool': 1 },
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + HELPER_DEADLINE_MS }),
    });
    return helper;
  };

  try {
    await start(true);
  } catch (err) {
    killOnExit();
    process.removeListener('exit', killOnExit);
    throw err;
  }

  return {
    get endpoint() {
      return `${scheme}://127.0.0.1:${clientPort}`;
    },
    get clientPort() {
      return clientPort;
    },
    get peerPort() {
      return peerPort;
    },
    dataDir,
    tls: clientTls,
    get pid() {
      return alive() ? proc?.pid : undefined;
    },
    get running() {
      return alive();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await kill('SIGTERM');
      closeHelper();
      rmSync(dataDir, { recursive: true, force: true });
      process.removeListener('exit', killOnExit);
    },
    kill,
    async restart() {
      if (stopped) throw new Error('etcd was stopped for good; start a new one');
      await kill('SIGTERM');
      closeHelper();
      await start(false);
    },
    async pause() {
      const pid = proc?.pid;
      if (pid === undefined || !alive()) throw new Error('etcd is not running');
      proc!.kill('SIGSTOP');
      paused = true;
      // kill() returns before the stop takes hold: on a busy machine etcd may answer a request
      // or two after it. Wait until every thread is stopped.
      await untilThreads(pid, (state) => state === 'T' || state === 't');
    },
    async resume() {
      const pid = proc?.pid;
      if (pid === undefined || !alive()) throw new Error('etcd is not running');
      proc!.kill('SIGCONT');
      paused = false;
      await untilThreads(pid, (state) => state !== 'T' && state !== 't');
    },
    async put(key, value) {
      const res = await (await client()).kv.put({ key: Buffer.from(key), value: Buffer.from(value) });
      return Number(res.header.revision);
    },
    async get(key) {
      const res = await (await client()).kv.range({ key: Buffer.from(key) });
      return res.kvs[0]?.value.toString('utf8');
    },
    async delete(key, deleteOptions = {}) {
      const k = Buffer.from(key);
      const res = await (await client()).kv.deleteRange(deleteOptions.prefix ? { key: k, range_end: prefixEnd(k) } : { key: k });
      return Number(res.header.revision);
    },
    async revision() {
      const res = await (await client()).kv.range({ key: Buffer.from([0]), limit: 1 });
      return Number(res.header.revision);
    },
    async compact(revision) {
      const c = await client();
      const rev = revision ?? Number((await c.kv.range({ key: Buffer.from([0]), limit: 1 })).header.revision);
      await c.kv.compact({ revision: rev, physical: true });
      return rev;
    },
    async enableAuth(username, password) {
      const c = await client();
      await c.user(username).create(password);
      await c.user(username).addRole('root');
      await c.auth.authEnable({});
      closeHelper();
      helperAuth = { username, password };
    },
    logs() {
      return tail(log);
    },
  };
}

/** BackendOptions for the etcd backend, as steward's settings would give them. */
export function etcdBackendOptions(nodes: readonly string[], overrides: Partial<BackendOptions> = {}): BackendOptions {
  return backendOptions({ nodes, ...overrides });
}

export type WatchEvent = { readonly kind: 'update'; readonly update: Update } | { readonly kind: 'status'; readonly status: BackendStatus };

/** A WatchListener that keeps what it was told and lets a test await a condition on it. */
export interface WatchRecorder extends WatchListener {
  readonly events: readonly WatchEvent[];
  /** The watched keys as a user of the updates sees them (full replaces, deltas apply). */
  readonly view: ReadonlyMap<string, string>;
  readonly statuses: readonly BackendStatus[];
  readonly updates: readonly Update[];
  /** Resolves once `condition` holds (checked now and after every event); rejects after `timeoutMs`. */
  until(what: string, condition: () => boolean, timeoutMs?: number): Promise<void>;
}

export function watchRecorder(initial: ReadonlyMap<string, string> = new Map()): WatchRecorder {
  const events: WatchEvent[] = [];
  const view = new Map(initial);
  const waiters = new Set<() => void>();
  const changed = (): void => {
    for (const check of [...waiters]) check();
  };
  return {
    events,
    view,
    get statuses() {
      return events.flatMap((e) => (e.kind === 'status' ? [e.status] : []));
    },
    get updates() {
      return events.flatMap((e) => (e.kind === 'update' ? [e.update] : []));
    },
    update(update) {
      events.push({ kind: 'update', update });
      if (update.kind === 'full') {
        view.clear();
        for (const [k, v] of update.values) view.set(k, v);
      } else {
        for (const [k, v] of update.set) view.set(k, v);
        for (const k of update.deleted) view.delete(k);
      }
      changed();
    },
    status(status) {
      events.push({ kind: 'status', status });
      changed();
    },
    until(what, condition, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (!condition()) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; events so far:\n${describe(events)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}

function describe(events: readonly WatchEvent[]): string {
  return events
    .map((e) =>
      e.kind === 'status'
        ? `  status ${JSON.stringify(e.status)}`
        : e.update.kind === 'full'
          ? `  full ${JSON.stringify([...e.update.values])}`
          : `  delta set=${JSON.stringify([...e.update.set])} deleted=${JSON.stringify(e.update.deleted)}`,
    )
    .join('\n');
}

function credentialsFor(tls: EtcdClientTls): { rootCertificate: Buffer; privateKey?: Buffer; certChain?: Buffer } {
  return {
    rootCertificate: readFileSync(tls.ca),
    ...(tls.cert && tls.key ? { certChain: readFileSync(tls.cert), privateKey: readFileSync(tls.key) } : {}),
  };
}

/** The first key after every key that starts with `prefix` (etcd's range_end for a prefix). */
function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/** Resolves once every thread of `pid` is in a state `ok` accepts (from /proc/PID/task/N/stat). */
async function untilThreads(pid: number, ok: (state: string) => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = readdirSync(`/proc/${pid}/task`).map((tid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      } catch {
        return 'gone';
      }
    });
    if (states.every((s) => s === 'gone' || ok(s))) return;
    if (Date.now() > deadline) throw new Error(`etcd (pid ${pid}) threads did not change state within ${timeoutMs} ms: ${states.join('')}`);
    await new Promise((r) => setImmediate(r));
  }
}

function tail(lines: readonly string[]): string {
  return lines.slice(-30).join('\n');
}

function scratchDir(): string {
  try {
    accessSync('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return tmpdir();
  }
}

async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** Asks /health until it says true: etcd logs "serving" just before it can answer. */
async function awaitHealthy(url: string, tls: EtcdClientTls | undefined, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    try {
      const body = await getText(url, tls, Math.max(1, deadline - Date.now()));
      if (/"health"\s*:\s*"true"/.test(body)) return;
      last = body;
    } catch (err) {
      last = String(err);
    }
    // Not a guess at how long etcd needs: a short back-off between real checks of its state.
    await new Promise((r) => setTimeout(r, Math.min(200, 10 * 2 ** attempt)));
  }
  throw new Error(`etcd at ${url} did not report healthy within ${timeoutMs} ms (last answer: ${last})`);
}

function getText(url: string, tls: EtcdClientTls | undefined, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const onResponse = (res: http.IncomingMessage): void => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body));
      res.on('error', reject);
    };
    const req = tls
      ? https.get(
          url,
          {
            ca: readFileSync(tls.ca),
            ...(tls.cert && tls.key ? { cert: readFileSync(tls.cert), key: readFileSync(tls.key) } : {}),
            timeout: timeoutMs,
          },
          onResponse,
        )
      : http.get(url, { timeout: timeoutMs }, onResponse);
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}
