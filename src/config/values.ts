// Parsers for the value types steward's options take. Each throws a ConfigError whose message
// names where the value came from (`STEWARD_STOP_TIMEOUT` or `--stop-timeout`) and what is accepted.

import { ConfigError } from '../core/exit-codes.ts';

const DURATION_UNITS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  'μs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const GO_DURATION = /^(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/;
const DURATION_PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g;
const BARE_NUMBER = /^(?:\d+(?:\.\d*)?|\.\d+)$/;

/** Go/consul-template durations (`500ms`, `1m30s`); a bare number means seconds. Returns ms. */
export function parseDuration(raw: string, source: string): number {
  const text = raw.trim();
  if (BARE_NUMBER.test(text)) return checkTimerRange(Number(text) * 1000, raw, source);
  if (!GO_DURATION.test(text)) {
    throw new ConfigError(
      `${source}: invalid duration ${JSON.stringify(raw)} (expected e.g. 500ms, 10s, 1m30s, or a number of seconds)`,
    );
  }
  let ms = 0;
  for (const m of text.matchAll(DURATION_PART)) ms += Number(m[1]) * (DURATION_UNITS[m[2] ?? ''] ?? 0);
  return checkTimerRange(ms, raw, source);
}

/** setTimeout's longest delay; a longer one would fire at once. */
const MAX_DURATION_MS = 2 ** 31 - 1;

function checkTimerRange(ms: number, raw: string, source: string): number {
  if (ms > MAX_DURATION_MS) {
    throw new ConfigError(`${source}: duration ${JSON.stringify(raw)} is too long (at most 24 days)`);
  }
  return ms;
}

/** Formats milliseconds the way steward's help and logs print durations. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  const s = ms / 1000;
  if (s < 60 || !Number.isInteger(s)) return `${s}s`;
  const m = Math.floor(s / 60);
  const rest = s % 60;
  return rest === 0 ? `${m}m` : `${m}m${rest}s`;
}

const TRUE_WORDS = new Set(['1', 't', 'true', 'yes', 'y', 'on']);
const FALSE_WORDS = new Set(['0', 'f', 'false', 'no', 'n', 'off', '']);

export function parseBoolean(raw: string, source: string): boolean {
  const word = raw.trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  throw new ConfigError(`${source}: invalid boolean ${JSON.stringify(raw)} (expected true or false)`);
}

export function parseInteger(raw: string, source: string, min: number, max: number): number {
  const text = raw.trim();
  const n = Number(text);
  if (!/^-?\d+$/.test(text) || n < min || n > max) {
    throw new ConfigError(`${source}: invalid number ${JSON.stringify(raw)} (expected an integer from ${min} to ${max})`);
  }
  return n;
}

export function parseChoice<T extends string>(raw: string, source: string, choices: readonly T[]): T {
  const word = raw.trim().toLowerCase();
  const found = choices.find((c) => c === word);
  if (found === undefined) {
    throw new ConfigError(`${source}: invalid value ${JSON.stringify(raw)} (expected one of: ${choices.join(', ')})`);
  }
  return found;
}

/** Comma-separated list; empty items are dropped. */
export function parseList(raw: string): string[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export type SignalName = NodeJS.Signals;

// Linux's signal numbers (x86, arm and most other architectures share them). Written out rather
// than read from node:os, whose loading alone costs start-up time and resident memory.
const SIGNALS: Readonly<Record<string, number>> = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGIOT: 6, SIGBUS: 7, SIGFPE: 8,
  SIGKILL: 9, SIGUSR1: 10, SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15, SIGSTKFLT: 16,
  SIGCHLD: 17, SIGCONT: 18, SIGSTOP: 19, SIGTSTP: 20, SIGTTIN: 21, SIGTTOU: 22, SIGURG: 23, SIGXCPU: 24,
  SIGXFSZ: 25, SIGVTALRM: 26, SIGPROF: 27, SIGWINCH: 28, SIGIO: 29, SIGPOLL: 29, SIGPWR: 30, SIGSYS: 31,
};

export function signalNumber(name: SignalName): number {
  const n = SIGNALS[name];
  if (n === undefined) throw new Error(`unknown signal ${name}`);
  return n;
}

export function signalName(num: number): SignalName | undefined {
  for (const [name, n] of Object.entries(SIGNALS)) if (n === num) return name as SignalName;
  return undefined;
}

/** `TERM`, `SIGTERM`, `sigterm` or `15`. */
export function parseSignal(raw: string, source: string): SignalName {
  const text = raw.trim().toUpperCase();
  const byNumber = /^\d+$/.test(text) ? signalName(Number(text)) : undefined;
  const name = byNumber ?? (text.startsWith('SIG') ? text : `SIG${text}`);
  if (SIGNALS[name] === undefined) {
    throw new ConfigError(`${source}: unknown signal ${JSON.stringify(raw)} (expected a name such as TERM, SIGHUP, or a number)`);
  }
  return name as SignalName;
}

/** `TERM:QUIT,USR1:0`: a target of 0 drops the signal (as dumb-init's --rewrite). */
export function parseSignalRewrite(raw: string, source: string): Map<SignalName, SignalName | null> {
  const map = new Map<SignalName, SignalName | null>();
  for (const item of parseList(raw)) {
    const [from, to, extra] = item.split(':');
    if (from === undefined || to === undefined || extra !== undefined) {
      throw new ConfigError(`${source}: invalid rewrite ${JSON.stringify(item)} (expected FROM:TO, e.g. TERM:QUIT)`);
    }
    const target = to.trim() === '0' ? null : parseSignal(to, source);
    map.set(parseSignal(from, source), target);
  }
  return map;
}

export function parseExitCodes(raw: string, source: string): Set<number> {
  return new Set(parseList(raw).map((item) => parseInteger(item, source, 0, 255)));
}

/** A duration above zero (a limit of 0 would end every render). */
export function parsePositiveDuration(raw: string, source: string): number {
  const ms = parseDuration(raw, source);
  if (ms <= 0) throw new ConfigError(`${source}: invalid duration ${JSON.stringify(raw)} (expected one above 0, e.g. 10s)`);
  return ms;
}

const SIZE = /^(\d+)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?$/i;
const SIZE_UNITS: Readonly<Record<string, number>> = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** A size in bytes: `65536`, `512KB`, `64MB`, `1GB` (units of 1024, as `64MiB`). */
export function parseSize(raw: string, source: string): number {
  const m = SIZE.exec(raw.trim());
  const n = m === null ? Number.NaN : Number(m[1]) * (SIZE_UNITS[(m[2] ?? 'b').charAt(0).toLowerCase()] ?? Number.NaN);
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new ConfigError(`${source}: invalid size ${JSON.stringify(raw)} (expected a number of bytes above 0, or one with KB, MB or GB)`);
  }
  return n;
}

/** A quiescence window: render `minMs` after the last change, and never later than `maxMs` after the first. */
export interface Wait {
  readonly minMs: number;
  readonly maxMs: number;
}

/** `100ms:1s`, `0` (none), or one duration (then max = 4 x min, as consul-template). */
export function parseWait(raw: string, source: string): Wait {
  const text = raw.trim();
  const [minText, maxText, extra] = text.split(':');
  if (minText === undefined || minText === '' || extra !== undefined) {
    throw new ConfigError(`${source}: invalid wait ${JSON.stringify(raw)} (expected MIN:MAX such as 100ms:1s, one duration, or 0)`);
  }
  const minMs = parseDuration(minText, source);
  const maxMs = maxText === undefined ? minMs * 4 : parseDuration(maxText, source);
  if (maxMs < minMs) {
    throw new ConfigError(`${source}: invalid wait ${JSON.stringify(raw)} (MAX must not be shorter than MIN)`);
  }
  return { minMs, maxMs };
}
