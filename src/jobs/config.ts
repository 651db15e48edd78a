// Reads scheduled jobs and rotating backups into validated specs, from two places:
//
// - variables: STEWARD_JOB_<NAME>_<FIELD> and STEWARD_BACKUP_<NAME>_<FIELD>; <NAME> may hold
//   underscores (the field is matched at the end), and becomes the job's name in lower case;
// - the TOML file STEWARD_CONFIG names: `[job.<name>]` and `[backup.<name>]` tables whose keys are
//   the same fields in lower case (`keep_daily`, not `KEEP_DAILY`).
//
// Decisions:
// - Every error is a ConfigError naming the variable, or the file and the key, and what is accepted.
// - A name is defined in one place only: the same name in the variables and in the file, or as both
//   a job and a backup, is an error rather than a silent merge (which one wins would be a guess).
// - An empty SCHEDULE disables that job or backup: Compose files and `docker run -e` can set a
//   variable to "" but cannot unset one that an image defines. Any other empty value is unset.
// - docker-cluster-controller's BACKUP_*_TO_KEEP and BACKUP_DESTINATION_FOLDER fill in the backup
//   named `backup` where its own STEWARD_BACKUP_BACKUP_* variables leave a field unset. That tool
//   took its command in code, so COMMAND and SCHEDULE come from STEWARD_BACKUP_BACKUP_*.

import { readFileSync } from 'node:fs';
import { parse as parseToml, TomlError } from 'smol-toml';
import type { Env } from '../config/settings.ts';
import { readFields, type Field as TomlField } from '../config/toml-fields.ts';
import { ConfigError } from '../core/exit-codes.ts';
import { checkArtifactExtension } from './artifact-name.ts';
import { HINTS, invalid, parseCommand, parseCount, parseDest, parseTimeout, parseUser, parseWhen, shown, sourceOf, type Entry } from './config-values.ts';
import { checkTimeZone } from './calendar.ts';
import { JOB_RUN_VARIABLES } from './has-jobs.ts';
import type { RetentionPolicy, RetentionRule } from './retention.ts';
import { checkCronExpression } from './scheduler.ts';

export type When =
  | { readonly kind: 'always' }
  | { readonly kind: 'leader' }
  | { readonly kind: 'healthy' }
  | { readonly kind: 'lock'; readonly path: string };

interface SpecCommon {
  readonly name: string;
  /** Normalised cron expression (5 fields, or 6 with seconds first). */
  readonly schedule: string;
  readonly argv: readonly string[];
  /** Undefined: no limit. */
  readonly timeoutMs: number | undefined;
  readonly when: When;
  /** Where the job is defined, for logs: `STEWARD_JOB_VACUUM_*` or `/etc/steward.toml [job.vacuum]`. */
  readonly origin: string;
  /** The variable or file and key that set `when` (or would have), for errors found later. */
  readonly whenSource: string;
  /** Who its command runs as instead of the app's user (name, uid, name:group or uid:gid). */
  readonly user: string | undefined;
  /** The variable or file and key that set `user`, for errors found when it is resolved. */
  readonly userSource: string;
}

export interface JobSpec extends SpecCommon {
  readonly kind: 'job';
}

export interface BackupSpec extends SpecCommon {
  readonly kind: 'backup';
  /** Absolute folder the artifacts are written to. */
  readonly dest: string;
  /** Without the leading dot; undefined when the artifact has none (a directory, say). */
  readonly extension: string | undefined;
  readonly policy: RetentionPolicy;
}

export type TaskSpec = JobSpec | BackupSpec;

export interface JobsConfig {
  readonly timeZone: string;
  /** Jobs, then backups, each in name order. */
  readonly tasks: readonly TaskSpec[];
  /** Names switched off by an empty schedule. */
  readonly disabled: readonly string[];
  /** Things worth a log line that are not errors. */
  readonly notices: readonly string[];
}

export interface JobsSource {
  readonly env: Env;
  /** The TOML file (STEWARD_CONFIG), if any. */
  readonly configFile: string | undefined;
  /** STEWARD_TZ: the zone schedules and backup periods are read in. */
  readonly timeZone: string;
  /** Top-level TOML tables that other parts read from the same file. */
  readonly otherTables?: readonly string[];
}

export type Kind = TaskSpec['kind'];

const JOB_FIELDS = ['schedule', 'command', 'timeout', 'when', 'user'] as const;
const KEEP_FIELDS = ['keep_last', 'keep_hourly', 'keep_daily', 'keep_weekly', 'keep_monthly', 'keep_yearly'] as const;
const BACKUP_FIELDS = [...JOB_FIELDS, 'dest', 'extension', ...KEEP_FIELDS] as const;
export type Field = (typeof BACKUP_FIELDS)[number];
export type KeepField = (typeof KEEP_FIELDS)[number];

const FIELDS: Readonly<Record<Kind, readonly Field[]>> = { job: JOB_FIELDS, backup: BACKUP_FIELDS };
const PREFIX: Readonly<Record<Kind, string>> = { job: 'STEWARD_JOB_', backup: 'STEWARD_BACKUP_' };

const KEEP_RULE: Readonly<Record<KeepField, RetentionRule>> = {
  keep_last: 'last',
  keep_hourly: 'hourly',
  keep_daily: 'daily',
  keep_weekly: 'weekly',
  keep_monthly: 'monthly',
  keep_yearly: 'yearly',
};

/** docker-cluster-controller's variables, for the backup named `backup`. */
const LEGACY_BACKUP = 'backup';
const LEGACY_FIELDS: readonly (readonly [string, Field])[] = [
  ['BACKUP_DESTINATION_FOLDER', 'dest'],
  ['BACKUP_HOURS_TO_KEEP', 'keep_hourly'],
  ['BACKUP_DAYS_TO_KEEP', 'keep_daily'],
  ['BACKUP_WEEKS_TO_KEEP', 'keep_weekly'],
  ['BACKUP_MONTHS_TO_KEEP', 'keep_monthly'],
];

// ---------------------------------------------------------------------------------------------
// Variables

function envEntries(env: Env): Entry[] {
  const entries = new Map<string, Entry>();
  const reserved: readonly string[] = JOB_RUN_VARIABLES;
  for (const variable of Object.keys(env).sort()) {
    const value = env[variable];
    if (value === undefined || reserved.includes(variable)) continue;
    const kind: Kind | undefined = variable.startsWith(PREFIX.job) ? 'job' : variable.startsWith(PREFIX.backup) ? 'backup' : undefined;
    if (kind === undefined) continue;
    const rest = variable.slice(PREFIX[kind].length);
    // Longest field first, so that a name ending in a field's tail is not cut short.
    const field = [...FIELDS[kind]]
      .sort((a, b) => b.length - a.length)
      .find((f) => rest.length > f.length + 1 && rest.endsWith(`_${f.toUpperCase()}`));
    if (field === undefined) {
      const expected = FIELDS[kind].map((f) => f.toUpperCase()).join(', ');
      throw new ConfigError(`${variable}: unknown setting (expected ${PREFIX[kind]}<NAME>_ followed by one of: ${expected})`);
    }
    const rawName = rest.slice(0, rest.length - field.length - 1);
    const group = `${PREFIX[kind]}${rawName}_*`;
    const name = rawName.toLowerCase();
    checkName(name, group);
    const key = `${kind}:${name}`;
    let entry = entries.get(key);
    if (entry === undefined) {
      const prefix = `${PREFIX[kind]}${rawName}_`;
      entry = { kind, name, origin: group, values: new Map(), sourceOf: new Map(), defaultSource: (f) => `${prefix}${f.toUpperCase()}` };
      entries.set(key, entry);
    }
    // Set to "" is unset, except for SCHEDULE, where it disables (see above).
    if (value === '' && field !== 'schedule') continue;
    entry.values.set(field, value);
    entry.sourceOf.set(field, variable);
  }
  // Only empty values: nothing is defined (an emptied SCHEDULE is a value).
  return [...entries.values()].filter((entry) => entry.values.size > 0);
}

// Jobs and backups share one set of names, and backup names become file names: one rule for both.
const NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;
const NAME_MAX = 100;

function checkName(name: string, source: string): void {
  if (name.length > NAME_MAX || !NAME.test(name)) {
    throw new ConfigError(
      `${source}: ${JSON.stringify(name)} is not a valid name (expected 1 to ${NAME_MAX} letters, digits, '.', '_' or '-', starting and ending with a letter or digit)`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// The TOML file

// Plain field checks rather than zod, which would stay resident for the life of the process
// (see config/toml-fields.ts); the values' meaning is checked in config-values.ts, as for the variables.
function accepting(field: Field, accept: (value: unknown) => boolean): TomlField<unknown> {
  return { expected: HINTS[field], accept: accept as (value: unknown) => value is unknown };
}
const isText = (v: unknown): boolean => typeof v === 'string';
const isCount = (v: unknown): boolean => typeof v === 'number' || typeof v === 'string';
const TOML_FIELDS: Readonly<Record<Field, TomlField<unknown>>> = {
  schedule: accepting('schedule', isText),
  command: accepting('command', (v) => typeof v === 'string' || (Array.isArray(v) && v.every((w) => typeof w === 'string'))),
  timeout: accepting('timeout', (v) => typeof v === 'string' || typeof v === 'number'),
  when: accepting('when', isText),
  user: accepting('user', isText),
  dest: accepting('dest', isText),
  extension: accepting('extension', isText),
  keep_last: accepting('keep_last', isCount),
  keep_hourly: accepting('keep_hourly', isCount),
  keep_daily: accepting('keep_daily', isCount),
  keep_weekly: accepting('keep_weekly', isCount),
  keep_monthly: accepting('keep_monthly', isCount),
  keep_yearly: accepting('keep_yearly', isCount),
};

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function readToml(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(`STEWARD_CONFIG: cannot read ${path} (${code ?? String(error)})`);
  }
  try {
    return parseToml(text) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof TomlError) {
      const firstLine = error.message.split('\n')[0] ?? error.message;
      throw new ConfigError(`${path}:${error.line}:${error.column}: ${firstLine}`);
    }
    throw new ConfigError(`${path}: cannot parse it (${String(error)})`);
  }
}

function fileEntries(path: string, otherTables: readonly string[]): Entry[] {
  const document = readToml(path);
  const entries: Entry[] = [];
  for (const [top, value] of Object.entries(document)) {
    if (otherTables.includes(top)) continue;
    if (top !== 'job' && top !== 'backup') {
      throw new ConfigError(`${path}: unknown key ${JSON.stringify(top)} (expected [job.<name>] and [backup.<name>] tables)`);
    }
    const kind: Kind = top;
    if (!isTable(value)) throw new ConfigError(`${path}: ${kind}: expected tables such as [${kind}.<name>], found ${shown(value)}`);
    for (const [name, table] of Object.entries(value)) {
      const where = `${path}: ${kind}.${name}`;
      checkName(name, `${path}: [${kind}.${name}]`);
      if (!isTable(table)) throw new ConfigError(`${where}: expected a table [${kind}.${name}], found ${shown(table)}`);
      const spec = Object.fromEntries(FIELDS[kind].map((f) => [f, TOML_FIELDS[f]]));
      const read = readFields(table, spec, where, (key) => {
        throw new ConfigError(`${where}.${key}: unknown key (expected one of: ${FIELDS[kind].join(', ')})`);
      });
      const values = new Map<Field, unknown>();
      for (const [key, v] of Object.entries(read)) {
        const field = key as Field;
        // Only the schedule keeps its empty string: "" disables, as with the variables.
        if (v === undefined || (v === '' && field !== 'schedule')) continue;
        values.set(field, v);
      }
      entries.push({ kind, name, origin: `${path} [${kind}.${name}]`, values, sourceOf: new Map(), defaultSource: (f) => `${where}.${f}` });
    }
  }
  return entries;
}

function buildSpec(entry: Entry): TaskSpec | undefined {
  const schedule = entry.values.get('schedule');
  if (schedule === '') return undefined;
  if (schedule === undefined) {
    throw new ConfigError(`${sourceOf(entry, 'schedule')} is missing (${HINTS.schedule})`);
  }
  if (typeof schedule !== 'string') throw invalid(entry, 'schedule', schedule);
  const common = {
    name: entry.name,
    schedule: checkCronExpression(schedule, sourceOf(entry, 'schedule')),
    argv: parseCommand(entry.values.get('command'), entry),
    timeoutMs: parseTimeout(entry.values.get('timeout'), entry),
    when: parseWhen(entry.values.get('when'), entry),
    origin: entry.origin,
    whenSource: sourceOf(entry, 'when'),
    user: parseUser(entry.values.get('user'), entry),
    userSource: sourceOf(entry, 'user'),
  };
  if (entry.kind === 'job') return { kind: 'job', ...common };
  const policy: Partial<Record<RetentionRule, number>> = {};
  for (const field of KEEP_FIELDS) {
    const count = parseCount(entry.values.get(field), entry, field);
    if (count !== undefined) policy[KEEP_RULE[field]] = count;
  }
  const extension = entry.values.get('extension');
  if (extension !== undefined && typeof extension !== 'string') throw invalid(entry, 'extension', extension);
  return {
    kind: 'backup',
    ...common,
    dest: parseDest(entry.values.get('dest'), entry),
    extension: checkArtifactExtension(extension, sourceOf(entry, 'extension')),
    policy,
  };
}

function applyLegacy(entries: readonly Entry[], env: Env, notices: string[]): void {
  const given = LEGACY_FIELDS.filter(([variable]) => (env[variable] ?? '') !== '');
  if (given.length === 0) return;
  const target = entries.find((e) => e.kind === 'backup' && e.name === LEGACY_BACKUP);
  if (target === undefined) {
    notices.push(
      `${given.map(([v]) => v).join(', ')} ${given.length === 1 ? 'is' : 'are'} set, but no backup named "${LEGACY_BACKUP}" is defined ` +
        '(set STEWARD_BACKUP_BACKUP_SCHEDULE and STEWARD_BACKUP_BACKUP_COMMAND to take them over from docker-cluster-controller)',
    );
    return;
  }
  for (const [variable, field] of given) {
    if (target.values.has(field)) continue;
    target.values.set(field, env[variable]);
    target.sourceOf.set(field, variable);
  }
}

/** Reads and checks every job and backup; the first problem is a ConfigError. */
export function loadJobsConfig(source: JobsSource): JobsConfig {
  const timeZone = checkTimeZone(source.timeZone, 'STEWARD_TZ');
  const fromEnv = envEntries(source.env);
  const fromFile = source.configFile === undefined || source.configFile === '' ? [] : fileEntries(source.configFile, source.otherTables ?? []);
  const byName = new Map<string, Entry>();
  for (const entry of [...fromEnv, ...fromFile]) {
    const other = byName.get(entry.name);
    if (other !== undefined) {
      throw new ConfigError(
        `"${entry.name}" is defined twice, by ${other.origin} and by ${entry.origin} (names are unique across jobs and backups)`,
      );
    }
    byName.set(entry.name, entry);
  }
  const entries = [...byName.values()];
  const notices: string[] = [];
  applyLegacy(entries, source.env, notices);
  const tasks: TaskSpec[] = [];
  const disabled: string[] = [];
  const ordered = entries.sort((a, b) => (a.kind === b.kind ? (a.name < b.name ? -1 : 1) : a.kind === 'job' ? -1 : 1));
  for (const entry of ordered) {
    const spec = buildSpec(entry);
    if (spec === undefined) disabled.push(entry.name);
    else tasks.push(spec);
  }
  return { timeZone, tasks, disabled, notices };
}

/** `always`, `leader`, `healthy` or `lock:<path>`, as written in the configuration. */
export function describeWhen(when: When): string {
  return when.kind === 'lock' ? `lock:${when.path}` : when.kind;
}
