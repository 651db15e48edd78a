// Resolves every option from the command line, then STEWARD_ variables, then confd's aliases,
// then the default, into one typed Settings object. Nothing else reads process.env for options.

import type { ParsedArgv } from './argv.ts';
import { OPTIONS, type OptionKey, type OptionSpec, type Settings } from './options.ts';
import { readSecretVariable, secretFileVariableNames } from './secrets.ts';

export type Env = Readonly<Record<string, string | undefined>>;

/** Where a setting came from, for --check output and error messages. */
export type SettingSource = { readonly kind: 'flag' | 'env' | 'default'; readonly name: string };

export interface ResolvedSettings {
  readonly settings: Settings;
  readonly sources: ReadonlyMap<OptionKey, SettingSource>;
}

function resolveOne<T>(key: OptionKey, spec: OptionSpec<T>, argv: ParsedArgv, env: Env): [T, SettingSource] {
  const fromFlag = argv.given.get(key);
  if (fromFlag !== undefined) {
    const name = `--${spec.flag}`;
    return [spec.parse(fromFlag, name), { kind: 'flag', name }];
  }
  for (const name of [spec.env, ...spec.aliases]) {
    // A secret may also come from the file its `_FILE` form names (secrets.ts).
    const raw = spec.secret ? readSecretVariable(name, env) : env[name];
    if (raw !== undefined && raw !== '') return [spec.parse(raw, name), { kind: 'env', name }];
  }
  return [spec.initial, { kind: 'default', name: spec.env }];
}

export function resolveSettings(argv: ParsedArgv, env: Env): ResolvedSettings {
  const settings: Record<string, unknown> = {};
  const sources = new Map<OptionKey, SettingSource>();
  for (const key of Object.keys(OPTIONS) as OptionKey[]) {
    const spec = OPTIONS[key] as OptionSpec<unknown>;
    const [value, source] = resolveOne(key, spec, argv, env);
    settings[key] = value;
    sources.set(key, source);
  }
  return { settings: settings as Settings, sources };
}

/** STEWARD_ variables that are not options: prefixes of per-job settings and names steward sets for hooks. */
const DYNAMIC_PREFIXES = ['STEWARD_JOB_', 'STEWARD_BACKUP_', 'STEWARD_PROCESS_'];
const RESERVED = new Set(['STEWARD_NODE', 'STEWARD_COMPILE_CACHE', 'STEWARD_ROLE', 'STEWARD_LEADER', 'STEWARD_FENCING_TOKEN', 'STEWARD_APP_PID', 'STEWARD_HEALTH', 'STEWARD_HEALTH_OUTPUT']);

/** STEWARD_* variables that match no option: almost always a typo worth a warning. */
export function unknownStewardVariables(env: Env): { name: string; suggestion: string | undefined }[] {
  const known = new Set([...(Object.keys(OPTIONS) as OptionKey[]).map((k) => OPTIONS[k].env), ...secretFileVariableNames()]);
  const unknown: { name: string; suggestion: string | undefined }[] = [];
  for (const name of Object.keys(env)) {
    if (!name.startsWith('STEWARD_') || known.has(name) || RESERVED.has(name)) continue;
    if (DYNAMIC_PREFIXES.some((p) => name.startsWith(p))) continue;
    unknown.push({ name, suggestion: closest(name, [...known]) });
  }
  return unknown;
}

function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 4;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}
