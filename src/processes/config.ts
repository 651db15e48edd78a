// Reads the sidecars from two places into checked specs:
//
// - variables STEWARD_PROCESS_<NAME>_<FIELD>; <NAME> may hold underscores (the field is matched
//   at the end, the longest field first) and becomes the sidecar's name in lower case;
// - *.toml files in STEWARD_PROCESS_DIR (supervisor's conf.d habit: one file per program), whose
//   top-level keys are the same fields in lower case; the name is the file's, or its `name` key.
//
// A name is declared in one place only. Every error is a ConfigError naming the variable, or the
// file and key, and what is accepted.

import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { RESTART_POLICIES } from '../config/options.ts';
import { parseBoolean, parseChoice, parseDuration, parseInteger, parseList, parseSignal } from '../config/values.ts';
import { ConfigError } from '../core/exit-codes.ts';
import { parseHook } from '../core/hooks.ts';
import { parseHealthUrl } from '../health/http-check.ts';
import { parseTcpTargets } from '../health/tcp-check.ts';
import { PROCESS_PREFIX } from './has-processes.ts';
import type { After, ProcessHealth, ProcessSpec } from './spec.ts';

const FIELDS = [
  'COMMAND', 'RESTART', 'RESTART_BACKOFF', 'RESTART_LIMIT', 'USER', 'RELOAD_SIGNAL', 'RELOAD_SPACING', 'STOP_SIGNAL', 'STOP_TIMEOUT',
  'AFTER', 'REQUIRED', 'OUTPUT', 'HEALTH_CMD', 'HEALTH_HTTP', 'HEALTH_HTTP_STATUS', 'HEALTH_TCP', 'HEALTH_INTERVAL',
  'HEALTH_TIMEOUT', 'HEALTH_RETRIES', 'HEALTH_START_PERIOD', 'HEALTH_START_INTERVAL',
] as const;
type Field = (typeof FIELDS)[number];
const LONGEST_FIRST = [...FIELDS].sort((a, b) => b.length - a.length);

const NAME = /^[a-z0-9][a-z0-9_-]*$/;
/** The names reload_process and _AFTER use for the app itself. */
export const APP_NAME = 'app';

/** What a sidecar's unset fields fall back to: the app's own settings. */
export interface ProcessDefaults {
  readonly restartBackoffMs: number;
  readonly stopTimeoutMs: number;
}

interface Raw {
  readonly name: string;
  readonly origin: string;
  readonly values: Map<Field, unknown>;
  readonly sourceOf: (field: Field) => string;
}

function splitVariable(name: string): { process: string; field: Field } | undefined {
  const rest = name.slice(PROCESS_PREFIX.length);
  for (const field of LONGEST_FIRST) {
    if (rest.endsWith(`_${field}`) && rest.length > field.length + 1) {
      return { process: rest.slice(0, -field.length - 1).toLowerCase(), field };
    }
  }
  return undefined;
}

function fromEnv(env: Readonly<Record<string, string | undefined>>): Map<string, Raw> {
  const found = new Map<string, Raw>();
  for (const [variable, value] of Object.entries(env)) {
    if (!variable.startsWith(PROCESS_PREFIX) || value === undefined || variable === `${PROCESS_PREFIX}DIR`) continue;
    const split = splitVariable(variable);
    if (split === undefined) {
      throw new ConfigError(`${variable}: not a sidecar setting (expected ${PROCESS_PREFIX}<NAME>_<FIELD>, FIELD one of ${FIELDS.join(', ')})`);
    }
    let raw = found.get(split.process);
    if (raw === undefined) {
      const prefix = `${PROCESS_PREFIX}${variable.slice(PROCESS_PREFIX.length, PROCESS_PREFIX.length + split.process.length)}`;
      raw = { name: split.process, origin: `${prefix}_*`, values: new Map(), sourceOf: (field) => `${prefix}_${field}` };
      found.set(split.process, raw);
    }
    // An empty variable is unset: Compose can set one to "" but not unset one an image defines.
    if (value !== '') raw.values.set(split.field, value);
  }
  return found;
}

type ParseToml = (text: string) => unknown;

function fromFile(path: string, parseToml: ParseToml): Raw {
  let document: Record<string, unknown>;
  try {
    document = parseToml(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    const e = error as { line?: number; column?: number; message?: string };
    const where = e.line === undefined ? path : `${path}:${e.line}:${e.column ?? 0}`;
    throw new ConfigError(`${where}: ${(e.message ?? String(error)).split('\n')[0]}`);
  }
  const values = new Map<Field, unknown>();
  let name = basename(path, '.toml').toLowerCase();
  for (const [key, value] of Object.entries(document)) {
    if (key === 'name') {
      if (typeof value !== 'string') throw new ConfigError(`${path}: name must be a string`);
      name = value;
      continue;
    }
    const field = key.toUpperCase() as Field;
    if (!(FIELDS as readonly string[]).includes(field)) {
      throw new ConfigError(`${path}: unknown key ${JSON.stringify(key)} (expected name, ${FIELDS.map((f) => f.toLowerCase()).join(', ')})`);
    }
    values.set(field, value);
  }
  return { name, origin: path, values, sourceOf: (field) => `${path}: ${field.toLowerCase()}` };
}

/** A value as text for the parsers (a TOML number or boolean as written); arrays are kept. */
function textOf(raw: Raw, field: Field): string | undefined {
  const value = raw.values.get(field);
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.join(',');
  throw new ConfigError(`${raw.sourceOf(field)}: expected a string, not ${JSON.stringify(value)}`);
}

function parseCommand(raw: Raw): string[] {
  const value = raw.values.get('COMMAND');
  const source = raw.sourceOf('COMMAND');
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string')) return value as string[];
  const words = parseHook(typeof value === 'string' ? value : undefined, source);
  if (words === undefined) throw new ConfigError(`${source}: a sidecar needs a command (${raw.origin} sets no COMMAND)`);
  return words;
}

function parseAfter(text: string | undefined, source: string): After | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const m = /^([a-z0-9][a-z0-9_-]*):(started|healthy|running)$/.exec(text.trim().toLowerCase());
  const hint = 'app:started, app:healthy, <name>:running or <name>:healthy';
  if (m === null) throw new ConfigError(`${source}: invalid value ${JSON.stringify(text)} (expected ${hint})`);
  const [, who = '', state = ''] = m;
  if (who === APP_NAME) {
    if (state === 'running') throw new ConfigError(`${source}: the app is app:started, not app:running`);
    return { kind: 'app', state: state as 'started' | 'healthy' };
  }
  if (state === 'started') throw new ConfigError(`${source}: a sidecar is ${who}:running, not ${who}:started`);
  return { kind: 'process', name: who, state: state as 'running' | 'healthy' };
}

function parseHealth(raw: Raw): ProcessHealth | undefined {
  const probes = (['HEALTH_CMD', 'HEALTH_HTTP', 'HEALTH_TCP'] as const).filter((f) => raw.values.has(f));
  if (probes.length > 1) throw new ConfigError(`${probes.map((f) => raw.sourceOf(f)).join(' and ')}: set only one health check`);
  const field = probes[0];
  if (field === undefined) return undefined;
  const text = textOf(raw, field) ?? '';
  const source = raw.sourceOf(field);
  const duration = (f: Field, fallback: string): number => parseDuration(textOf(raw, f) ?? fallback, raw.sourceOf(f));
  const timing = {
    intervalMs: duration('HEALTH_INTERVAL', '10s'),
    timeoutMs: duration('HEALTH_TIMEOUT', '5s'),
    retries: parseInteger(textOf(raw, 'HEALTH_RETRIES') ?? '3', raw.sourceOf('HEALTH_RETRIES'), 1, 1_000_000),
    startPeriodMs: duration('HEALTH_START_PERIOD', '0s'),
    startIntervalMs: duration('HEALTH_START_INTERVAL', '1s'),
  };
  if (field === 'HEALTH_CMD') {
    const words = parseHook(text, source);
    if (words === undefined) throw new ConfigError(`${source}: empty command`);
    return { ...timing, probe: { kind: 'command', words } };
  }
  if (field === 'HEALTH_HTTP') {
    const statusText = textOf(raw, 'HEALTH_HTTP_STATUS');
    const status = new Set(parseList(statusText ?? '').map((item) => parseInteger(item, raw.sourceOf('HEALTH_HTTP_STATUS'), 100, 599)));
    return { ...timing, probe: { kind: 'http', url: parseHealthUrl(text, source), status } };
  }
  const targets = parseList(text);
  parseTcpTargets(targets, source);
  return { ...timing, probe: { kind: 'tcp', targets } };
}

function toSpec(raw: Raw, defaults: ProcessDefaults): ProcessSpec {
  if (!NAME.test(raw.name) || raw.name === APP_NAME) {
    throw new ConfigError(`${raw.origin}: invalid sidecar name ${JSON.stringify(raw.name)} (letters, digits, _ and -; "${APP_NAME}" names the app)`);
  }
  const text = (f: Field): string | undefined => textOf(raw, f);
  const src = raw.sourceOf;
  const output = text('OUTPUT');
  return {
    name: raw.name,
    origin: raw.origin,
    argv: parseCommand(raw),
    restart: text('RESTART') === undefined ? 'always' : parseChoice(text('RESTART') ?? '', src('RESTART'), RESTART_POLICIES),
    restartBackoffMs: text('RESTART_BACKOFF') === undefined ? defaults.restartBackoffMs : parseDuration(text('RESTART_BACKOFF') ?? '', src('RESTART_BACKOFF')),
    restartLimit: parseInteger(text('RESTART_LIMIT') ?? '0', src('RESTART_LIMIT'), 0, 1_000_000),
    user: text('USER'),
    userSource: src('USER'),
    reloadSignal: parseSignal(text('RELOAD_SIGNAL') ?? 'SIGHUP', src('RELOAD_SIGNAL')),
    reloadSpacingMs: parseDuration(text('RELOAD_SPACING') ?? '1s', src('RELOAD_SPACING')),
    stopSignal: parseSignal(text('STOP_SIGNAL') ?? 'SIGTERM', src('STOP_SIGNAL')),
    stopTimeoutMs: text('STOP_TIMEOUT') === undefined ? defaults.stopTimeoutMs : parseDuration(text('STOP_TIMEOUT') ?? '', src('STOP_TIMEOUT')),
    after: parseAfter(text('AFTER'), src('AFTER')),
    health: parseHealth(raw),
    required: parseBoolean(text('REQUIRED') ?? 'false', src('REQUIRED')),
    output: output === undefined ? 'capture' : parseChoice(output, src('OUTPUT'), ['capture', 'inherit'] as const),
  };
}

/** Every `<name>:running|healthy` names a sidecar (with a health check for :healthy), and no chain loops. */
function checkOrder(specs: readonly ProcessSpec[], appHealthWatched: boolean): void {
  const byName = new Map(specs.map((s) => [s.name, s]));
  for (const s of specs) {
    const a = s.after;
    if (a === undefined) continue;
    const source = `${s.origin} (after)`;
    if (a.kind === 'app') {
      if (a.state === 'healthy' && !appHealthWatched) throw new ConfigError(`${source}: app:healthy needs a health check of the app (STEWARD_HEALTH_*)`);
      continue;
    }
    const other = byName.get(a.name);
    if (other === undefined) throw new ConfigError(`${source}: no sidecar named ${JSON.stringify(a.name)}`);
    if (a.state === 'healthy' && other.health === undefined) throw new ConfigError(`${source}: ${a.name}:healthy needs a health check of ${a.name} (its _HEALTH_* settings)`);
    const seen = new Set<string>([s.name]);
    for (let next: ProcessSpec | undefined = other; next !== undefined; ) {
      if (seen.has(next.name)) throw new ConfigError(`${source}: the start order loops (${[...seen, next.name].join(' -> ')})`);
      seen.add(next.name);
      next = next.after?.kind === 'process' ? byName.get(next.after.name) : undefined;
    }
  }
}

/** The sidecars the variables and STEWARD_PROCESS_DIR declare, in name order. */
export async function readProcesses(
  env: Readonly<Record<string, string | undefined>>,
  dir: string | undefined,
  defaults: ProcessDefaults,
  appHealthWatched: boolean,
): Promise<ProcessSpec[]> {
  const raws = fromEnv(env);
  if (dir !== undefined) {
    let files: string[];
    try {
      files = readdirSync(dir).filter((f) => f.endsWith('.toml')).sort();
    } catch (error) {
      throw new ConfigError(`STEWARD_PROCESS_DIR: cannot read ${dir} (${(error as Error).message})`);
    }
    // smol-toml is loaded only when there is a file to read.
    const parseToml = files.length > 0 ? (await import('smol-toml')).parse : undefined;
    for (const file of files) {
      const raw = fromFile(join(dir, file), parseToml ?? (() => ({})));
      const earlier = raws.get(raw.name);
      if (earlier !== undefined) throw new ConfigError(`${raw.origin}: sidecar ${JSON.stringify(raw.name)} is declared already by ${earlier.origin}`);
      raws.set(raw.name, raw);
    }
  }
  const specs = [...raws.values()].sort((a, b) => a.name.localeCompare(b.name)).map((raw) => toSpec(raw, defaults));
  checkOrder(specs, appHealthWatched);
  return specs;
}
