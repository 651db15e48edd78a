// Reading each field of a job or backup: the value as given (a variable's text or a TOML value),
// checked, or one ConfigError naming the variable, or the file and key, and what it accepts.

import { resolve } from 'node:path';
import { parseDuration } from '../config/values.ts';
import { ConfigError } from '../core/exit-codes.ts';
import { splitWords, WordsError } from '../core/words.ts';
import type { Field, KeepField, Kind, When } from './config.ts';

/** setTimeout's limit; a longer timer would fire at once. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export const HINTS: Readonly<Record<Field, string>> = {
  schedule: 'a cron expression, e.g. "0 3 * * *" or "*/10 * * * * *" with seconds',
  command: 'a command line, or in the file a list of words',
  timeout: 'a duration such as 90s or 10m, 0 for none, or in the file a number of seconds',
  when: 'always, leader, healthy or lock:<path>',
  user: 'a user: name, uid, name:group or uid:gid',
  dest: 'a folder',
  extension: 'an extension such as sql.gz',
  keep_last: 'a whole number of 0 or more',
  keep_hourly: 'a whole number of 0 or more',
  keep_daily: 'a whole number of 0 or more',
  keep_weekly: 'a whole number of 0 or more',
  keep_monthly: 'a whole number of 0 or more',
  keep_yearly: 'a whole number of 0 or more',
};

/** One job or backup as read, before its values are checked. */
export interface Entry {
  readonly kind: Kind;
  readonly name: string;
  readonly origin: string;
  readonly values: Map<Field, unknown>;
  /** Names the variable, or the file and key, of a field. */
  readonly sourceOf: Map<Field, string>;
  readonly defaultSource: (field: Field) => string;
}

export function sourceOf(entry: Entry, field: Field): string {
  return entry.sourceOf.get(field) ?? entry.defaultSource(field);
}

export function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'a list';
  if (value === null || value === undefined) return 'nothing';
  return typeof value === 'object' ? 'a table' : typeof value;
}

export function invalid(entry: Entry, field: Field, value: unknown, why?: string): ConfigError {
  return new ConfigError(`${sourceOf(entry, field)}: invalid value ${shown(value)} (${why ?? `expected ${HINTS[field]}`})`);
}

// Checking values

export function parseWhen(raw: unknown, entry: Entry): When {
  if (raw === undefined) return { kind: 'always' };
  if (typeof raw !== 'string') throw invalid(entry, 'when', raw);
  const text = raw.trim();
  const word = text.toLowerCase();
  if (word === 'always') return { kind: 'always' };
  if (word === 'leader') return { kind: 'leader' };
  if (word === 'healthy') return { kind: 'healthy' };
  if (word.startsWith('lock:')) {
    const path = text.slice('lock:'.length).trim();
    if (path === '') throw invalid(entry, 'when', raw, 'expected lock:<path>, with the path of one of the filesystem locks');
    return { kind: 'lock', path };
  }
  throw invalid(entry, 'when', raw);
}

export function parseCommand(raw: unknown, entry: Entry): string[] {
  const source = sourceOf(entry, 'command');
  if (raw === undefined) throw new ConfigError(`${source} is missing (the command to run, e.g. "sh -c 'vacuumdb --all'")`);
  let argv: string[];
  if (Array.isArray(raw)) {
    argv = raw.map(String);
  } else if (typeof raw === 'string') {
    try {
      argv = splitWords(raw);
    } catch (error) {
      if (error instanceof WordsError) throw new ConfigError(`${source}: ${error.message} in ${JSON.stringify(raw)}`);
      throw error;
    }
  } else {
    throw invalid(entry, 'command', raw);
  }
  if (argv.length === 0 || argv[0] === '') throw new ConfigError(`${source}: the command is empty`);
  return argv;
}

export function parseTimeout(raw: unknown, entry: Entry): number | undefined {
  if (raw === undefined) return undefined;
  const source = sourceOf(entry, 'timeout');
  let ms: number;
  if (typeof raw === 'number') {
    if (!Number.isFinite(raw) || raw < 0) throw invalid(entry, 'timeout', raw);
    ms = raw * 1000;
  } else if (typeof raw === 'string') {
    ms = parseDuration(raw, source);
  } else {
    throw invalid(entry, 'timeout', raw);
  }
  if (ms === 0) return undefined;
  if (ms > MAX_TIMEOUT_MS) throw invalid(entry, 'timeout', raw, 'expected at most 596h, or 0 for no limit');
  return Math.max(1, Math.round(ms));
}

export function parseCount(raw: unknown, entry: Entry, field: KeepField): number | undefined {
  if (raw === undefined) return undefined;
  const text = typeof raw === 'string' ? raw.trim() : undefined;
  const n = typeof raw === 'number' ? raw : text !== undefined && /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 0) throw invalid(entry, field, raw);
  return n;
}

export function parseUser(raw: unknown, entry: Entry): string | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || raw.trim() === '') throw invalid(entry, 'user', raw);
  return raw.trim();
}

export function parseDest(raw: unknown, entry: Entry): string {
  const source = sourceOf(entry, 'dest');
  if (raw === undefined) throw new ConfigError(`${source} is missing (the folder the artifacts are written to)`);
  if (typeof raw !== 'string' || raw.trim() === '') throw invalid(entry, 'dest', raw);
  return resolve(raw);
}
