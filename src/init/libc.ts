// The few libc calls Node does not offer, through koffi (its prebuilt binaries ship in the npm
// package, so nothing is compiled at install). Everything else in steward sees only the typed
// `Libc` interface below, never koffi.

import type koffiModule from 'koffi';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { installRoot } from '../core/install-root.ts';

type Koffi = typeof koffiModule;

export interface SpawnRequest {
  readonly file: string;
  readonly argv: readonly string[];
  readonly env: readonly string[];
  /** Put the child in its own process group (pgid = its pid). */
  readonly ownProcessGroup: boolean;
  /** Credentials for the child; undefined keeps steward's. */
  readonly credentials: Credentials | undefined;
}

export interface Credentials {
  readonly uid: number;
  readonly gid: number;
  readonly groups: readonly number[];
}

export interface PasswdEntry {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
}

export interface Libc {
  /** posix_spawnp; returns the pid, or the errno of a failed exec as a negative number. */
  spawn(request: SpawnRequest): number;
  /**
   * kill(2) for the processes libuv does not know (the app, its group, leftovers): a negative
   * pid is a group, -1 everyone; throws when no process was signalled.
   */
  kill(pid: number, signal: NodeJS.Signals | 0): void;
  /** Peeks at one exited child without reaping it: its pid, or 0 when none, or -errno. */
  peekExitedChild(): number;
  /** waitpid(pid, WNOHANG): the raw wait status, or undefined when the child has not exited. */
  reap(pid: number): number | undefined;
  /**
   * Reaps any one exited child (waitid(P_ALL) without WNOWAIT): its pid and raw wait status, or
   * undefined when none. Only safe while Node has no child of its own.
   */
  reapAny(): { pid: number; status: number } | undefined;
  becomeSubreaper(): boolean;
  /** Makes `pgid` the terminal's foreground group, with SIGTTOU blocked so a background caller may do it. */
  setForegroundGroup(fd: number, pgid: number): boolean;
  foregroundGroup(fd: number): number;
  processGroup(): number;
  isatty(fd: number): boolean;
  /** glibc's malloc_trim(0): hands freed heap memory back to the kernel; false where there is none (musl). */
  trimMemory(): boolean;
  lookupUser(nameOrUid: string): PasswdEntry | undefined;
  groupsOf(name: string, gid: number): number[];
  lookupGroup(name: string): number | undefined;
  /**
   * A non-blocking unix datagram socket bound to `path` (Node's dgram knows only UDP): its fd,
   * or -errno. The sd_notify socket is one.
   */
  bindDatagramSocket(path: string): number;
  /** Reads one queued datagram into `buffer` without waiting: its length, or -errno (-EAGAIN: none). */
  receiveDatagram(fd: number, buffer: Buffer): number;
  closeFd(fd: number): void;
}

// glibc and musl agree on these values on Linux.
const POSIX_SPAWN_RESETIDS = 0x01;
const POSIX_SPAWN_SETPGROUP = 0x02;
const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;
const P_ALL = 0;
const WNOHANG = 1;
const WEXITED = 4;
const WNOWAIT = 0x01000000;
const CLD_EXITED = 1;
const CLD_DUMPED = 3;
const PR_SET_CHILD_SUBREAPER = 36;
const SIG_BLOCK = 0;
const SIG_SETMASK = 2;
const SIGTTOU = 22;
// Opaque libc objects are allocated generously: posix_spawnattr_t is 336 bytes on glibc x86_64.
const OPAQUE_SIZE = 1024;
const SIGSET_SIZE = 128;
const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const MSG_DONTWAIT = 0x40;
/** sockaddr_un: sa_family_t, then sun_path[108]. */
const SOCKADDR_UN_SIZE = 110;

// Raw syscall numbers: credentials changed with syscall() bind the calling thread only, which is
// the point (see spawnAs). glibc's setuid() would change every thread of steward.
const CREDENTIAL_SYSCALLS: Readonly<Record<string, { setgroups: number; setresuid: number; setresgid: number }>> = {
  x64: { setgroups: 116, setresuid: 117, setresgid: 119 },
  arm64: { setgroups: 159, setresuid: 147, setresgid: 149 },
};

// koffi's own entry point finds its binary by parsing node's ELF headers and loads it through
// the CommonJS loader, which together cost several MB of resident memory for the life of the
// process (measured: 7.8 MB against 0.7 MB for opening the binary directly). steward knows
// where npm puts the binary, opens it with process.dlopen, and falls back to koffi's loader.
function openKoffi(): Koffi {
  const root = installRoot();
  const dir = join(root, 'node_modules', `@koromix/koffi-${process.platform}-${process.arch}`);
  if (existsSync(dir)) {
    for (const flavour of ['linux', 'musl']) {
      try {
        const module = { exports: {} as Record<string, unknown> };
        process.dlopen(module, join(dir, `${flavour}_${process.arch}`, 'koffi.node'));
        if (typeof module.exports['load'] === 'function' && typeof module.exports['struct'] === 'function') {
          return module.exports as unknown as Koffi;
        }
      } catch {
        // Not this libc's build: try the next one, then koffi's own loader.
      }
    }
  }
  return createRequire(join(root, 'package.json'))('koffi') as Koffi;
}

export function loadLibc(): Libc {
  const koffi = openKoffi();
  // load(null) gives the symbols already linked into node: glibc or musl alike.
  const lib = koffi.load(null);
  const passwd = koffi.struct('steward_passwd', {
    pw_name: 'char *',
    pw_passwd: 'char *',
    pw_uid: 'uint32_t',
    pw_gid: 'uint32_t',
    pw_gecos: 'char *',
    pw_dir: 'char *',
    pw_shell: 'char *',
  });
  const group = koffi.struct('steward_group', {
    gr_name: 'char *',
    gr_passwd: 'char *',
    gr_gid: 'uint32_t',
    gr_mem: 'void *',
  });
  const posixSpawnp = lib.func('int posix_spawnp(_Out_ int *pid, const char *file, void *fa, void *attr, const char **argv, const char **envp)');
  const attrInit = lib.func('int posix_spawnattr_init(void *attr)');
  const attrDestroy = lib.func('int posix_spawnattr_destroy(void *attr)');
  const attrSetFlags = lib.func('int posix_spawnattr_setflags(void *attr, short flags)');
  const attrSetPgroup = lib.func('int posix_spawnattr_setpgroup(void *attr, int pgroup)');
  const attrSetSigmask = lib.func('int posix_spawnattr_setsigmask(void *attr, void *mask)');
  const attrSetSigdefault = lib.func('int posix_spawnattr_setsigdefault(void *attr, void *mask)');
  const faInit = lib.func('int posix_spawn_file_actions_init(void *fa)');
  const faDestroy = lib.func('int posix_spawn_file_actions_destroy(void *fa)');
  const faAddDup2 = lib.func('int posix_spawn_file_actions_adddup2(void *fa, int fd, int newfd)');
  const sigemptyset = lib.func('int sigemptyset(void *set)');
  const sigfillset = lib.func('int sigfillset(void *set)');
  const sigaddset = lib.func('int sigaddset(void *set, int sig)');
  const pthreadSigmask = lib.func('int pthread_sigmask(int how, void *set, void *old)');
  const waitid = lib.func('int waitid(int idtype, int id, void *info, int options)');
  const waitpid = lib.func('int waitpid(int pid, _Out_ int *status, int options)');
  const prctl = lib.func('int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)');
  const tcsetpgrp = lib.func('int tcsetpgrp(int fd, int pgrp)');
  const tcgetpgrp = lib.func('int tcgetpgrp(int fd)');
  const getpgrp = lib.func('int getpgrp()');
  const isattyFn = lib.func('int isatty(int fd)');
  let mallocTrim: ((pad: number) => unknown) | undefined;
  try {
    mallocTrim = lib.func('int malloc_trim(size_t pad)');
  } catch {
    // musl has no malloc_trim (and returns memory by itself).
  }
  const getpwnam = lib.func('steward_passwd *getpwnam(const char *name)');
  const getpwuid = lib.func('steward_passwd *getpwuid(uint32_t uid)');
  const getgrnam = lib.func('steward_group *getgrnam(const char *name)');
  const getgrouplist = lib.func('int getgrouplist(const char *user, uint32_t group, _Inout_ uint32_t *groups, _Inout_ int *ngroups)');
  const syscall = lib.func('long syscall(long number, ...)');
  const socketFn = lib.func('int socket(int domain, int type, int protocol)');
  const bindFn = lib.func('int bind(int fd, void *addr, uint32_t len)');
  const recvFn = lib.func('intptr_t recv(int fd, void *buf, size_t len, int flags)');
  const closeFn = lib.func('int close(int fd)');

  const emptySet = Buffer.alloc(SIGSET_SIZE);
  const fullSet = Buffer.alloc(SIGSET_SIZE);
  sigemptyset(emptySet);
  sigfillset(fullSet);
  const ttouSet = Buffer.alloc(SIGSET_SIZE);
  sigemptyset(ttouSet);
  sigaddset(ttouSet, SIGTTOU);
  const siginfo = Buffer.alloc(128);

  function setCredentials(c: { uid: number; gid: number; groups: readonly number[] }, keepEffectiveRoot: boolean): void {
    const nr = CREDENTIAL_SYSCALLS[process.arch];
    if (nr === undefined) throw new Error(`switching users is not supported on ${process.arch}`);
    const groups = new Uint32Array(c.groups);
    const check = (what: string, rc: number): void => {
      if (rc !== 0) throw new Error(`${what} failed: errno ${koffi.errno()}`);
    };
    check('setgroups', Number(syscall(nr.setgroups, 'long', groups.length, 'uint32_t *', groups)));
    const eff = keepEffectiveRoot ? 0 : c.gid;
    check('setresgid', Number(syscall(nr.setresgid, 'long', c.gid, 'long', eff, 'long', eff)));
    const effu = keepEffectiveRoot ? 0 : c.uid;
    check('setresuid', Number(syscall(nr.setresuid, 'long', c.uid, 'long', effu, 'long', effu)));
  }

  function spawn(request: SpawnRequest): number {
    const attr = Buffer.alloc(OPAQUE_SIZE);
    const actions = Buffer.alloc(OPAQUE_SIZE);
    attrInit(attr);
    faInit(actions);
    try {
      let flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
      if (request.ownProcessGroup) {
        flags |= POSIX_SPAWN_SETPGROUP;
        attrSetPgroup(attr, 0);
      }
      if (request.credentials !== undefined) flags |= POSIX_SPAWN_RESETIDS;
      attrSetFlags(attr, flags);
      // The app starts with every signal at its default action and none blocked, whatever
      // Node set up for itself (Node ignores SIGPIPE, for one).
      attrSetSigmask(attr, emptySet);
      attrSetSigdefault(attr, fullSet);
      // Node reopens inherited descriptors close-on-exec (TTYs, pipes); dup2(fd, fd) in the
      // child clears that flag so the app keeps its stdio.
      for (const fd of [0, 1, 2]) faAddDup2(actions, fd, fd);
      const pid = [0];
      const argv = [...request.argv, null];
      const envp = [...request.env, null];
      let rc: number;
      if (request.credentials === undefined) {
        rc = posixSpawnp(pid, request.file, actions, attr, argv, envp) as number;
      } else {
        rc = spawnAs(request.credentials, () => posixSpawnp(pid, request.file, actions, attr, argv, envp) as number);
      }
      return rc === 0 ? (pid[0] ?? 0) : -rc;
    } finally {
      attrDestroy(attr);
      faDestroy(actions);
    }
  }

  // Spawning as another user without a helper binary: the main thread alone (raw syscalls)
  // takes the user's real uid/gid and groups while keeping effective root; POSIX_SPAWN_RESETIDS
  // makes the child drop to its real ids, and exec then copies them to the saved ids, so the app
  // holds no way back to root and no capabilities. The thread is restored before anything else
  // runs on it: JS is single-threaded and this is one synchronous turn.
  function spawnAs(c: Credentials, run: () => number): number {
    const own = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, groups: process.getgroups?.() ?? [] };
    setCredentials(c, true);
    try {
      return run();
    } finally {
      setCredentials(own, true);
    }
  }

  function readPasswd(p: unknown): PasswdEntry | undefined {
    if (p === null || p === undefined) return undefined;
    const e = koffi.decode(p, passwd) as { pw_name: string; pw_uid: number; pw_gid: number; pw_dir: string };
    return { name: e.pw_name, uid: e.pw_uid, gid: e.pw_gid, home: e.pw_dir };
  }

  return {
    spawn,
    // Node's process.kill is kill(2) itself, for any pid; it sits behind this interface so that
    // all steward does to the app goes through the one object a test replaces.
    kill(pid, signal) {
      process.kill(pid, signal);
    },
    peekExitedChild() {
      siginfo.fill(0);
      const rc = waitid(P_ALL, 0, siginfo, WEXITED | WNOHANG | WNOWAIT) as number;
      if (rc !== 0) return -koffi.errno();
      // siginfo_t: si_signo, si_errno, si_code, padding, then si_pid at offset 16 on 64-bit Linux.
      return siginfo.readInt32LE(16);
    },
    reapAny() {
      siginfo.fill(0);
      const rc = waitid(P_ALL, 0, siginfo, WEXITED | WNOHANG) as number;
      const pid = siginfo.readInt32LE(16);
      if (rc !== 0 || pid === 0) return undefined;
      // si_code: CLD_EXITED (1) carries the exit code in si_status, CLD_KILLED (2) and
      // CLD_DUMPED (3) the signal; rebuilt here as the status word waitpid would give.
      const code = siginfo.readInt32LE(8);
      const value = siginfo.readInt32LE(24);
      const status = code === CLD_EXITED ? (value & 0xff) << 8 : (value & 0x7f) | (code === CLD_DUMPED ? 0x80 : 0);
      return { pid, status };
    },
    reap(pid) {
      const status = [0];
      const rc = waitpid(pid, status, WNOHANG) as number;
      return rc === pid ? (status[0] ?? 0) : undefined;
    },
    becomeSubreaper() {
      return (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) as number) === 0;
    },
    setForegroundGroup(fd, pgid) {
      const old = Buffer.alloc(SIGSET_SIZE);
      pthreadSigmask(SIG_BLOCK, ttouSet, old);
      try {
        return (tcsetpgrp(fd, pgid) as number) === 0;
      } finally {
        pthreadSigmask(SIG_SETMASK, old, null);
      }
    },
    foregroundGroup(fd) {
      return tcgetpgrp(fd) as number;
    },
    processGroup() {
      return getpgrp() as number;
    },
    isatty(fd) {
      return (isattyFn(fd) as number) === 1;
    },
    trimMemory() {
      if (mallocTrim === undefined) return false;
      mallocTrim(0);
      return true;
    },
    lookupUser(nameOrUid) {
      return readPasswd(/^\d+$/.test(nameOrUid) ? getpwuid(Number(nameOrUid)) : getpwnam(nameOrUid));
    },
    groupsOf(name, gid) {
      let size = 64;
      for (;;) {
        const groups = new Uint32Array(size);
        const count = [size];
        const rc = getgrouplist(name, gid, groups, count) as number;
        if (rc >= 0) return Array.from(groups.slice(0, count[0] ?? 0));
        size = Math.max(size * 2, count[0] ?? 0);
      }
    },
    lookupGroup(name) {
      const g = getgrnam(name);
      if (g === null || g === undefined) return undefined;
      return (koffi.decode(g, group) as { gr_gid: number }).gr_gid;
    },
    bindDatagramSocket(path) {
      const encoded = Buffer.from(path);
      if (encoded.length >= SOCKADDR_UN_SIZE - 2) return -36; // ENAMETOOLONG
      const fd = socketFn(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0) as number;
      if (fd < 0) return -koffi.errno();
      const addr = Buffer.alloc(SOCKADDR_UN_SIZE);
      addr.writeUInt16LE(AF_UNIX, 0);
      encoded.copy(addr, 2);
      if ((bindFn(fd, addr, 2 + encoded.length + 1) as number) !== 0) {
        const errno = koffi.errno();
        closeFn(fd);
        return -errno;
      }
      return fd;
    },
    receiveDatagram(fd, buffer) {
      const n = Number(recvFn(fd, buffer, buffer.length, MSG_DONTWAIT));
      return n < 0 ? -koffi.errno() : n;
    },
    closeFd(fd) {
      closeFn(fd);
    },
  };
}
