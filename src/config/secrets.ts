// steward's secret settings (the backend password, the Consul token): where their values may
// come from, and where they must never go.
//
// - Each secret variable also has a `_FILE` form (CONFD_PASSWORD_FILE=/run/secrets/db), as
//   s6-overlay and the official images offer: the value is the file's content, so it is neither
//   in the environment of `docker inspect` nor in /proc/<pid>/cmdline. Setting both forms of one
//   variable is a configuration error.
// - steward's own secret variables are removed from the environment of every child it starts
//   (the app, hooks, checks, jobs, check_cmd/reload_cmd). CONSUL_HTTP_TOKEN stays: it is
//   Consul's standard variable, and apps and checks that talk to Consul read it.

import { readFileSync } from 'node:fs';
import { ConfigError } from '../core/exit-codes.ts';
import { OPTIONS, type OptionKey } from './options.ts';

export type Env = Readonly<Record<string, string | undefined>>;

/** Variables that belong to other tools and stay in children's environments even when secret. */
const SHARED_WITH_CHILDREN: ReadonlySet<string> = new Set(['CONSUL_HTTP_TOKEN']);

const FILE_SUFFIX = '_FILE';

/** Every variable that can carry a secret setting, in the order settings are resolved. */
export function secretVariableNames(): string[] {
  return (Object.keys(OPTIONS) as OptionKey[]).flatMap((key) => {
    const spec = OPTIONS[key];
    return spec.secret ? [spec.env, ...spec.aliases] : [];
  });
}

/** The `_FILE` variables steward reads (so that they are not reported as unknown). */
export function secretFileVariableNames(): string[] {
  return secretVariableNames().map((name) => name + FILE_SUFFIX);
}

/**
 * The raw value of secret variable `name` from the environment: the variable itself, or the
 * content of the file `name_FILE` names (one trailing newline removed, as `echo` leaves one).
 * Undefined when neither is set; a ConfigError naming the variables (never the value) when both
 * are, or when the file cannot be read.
 */
export function readSecretVariable(name: string, env: Env): string | undefined {
  const direct = env[name];
  const fileVar = name + FILE_SUFFIX;
  const path = env[fileVar];
  const hasDirect = direct !== undefined && direct !== '';
  const hasFile = path !== undefined && path !== '';
  if (hasDirect && hasFile) throw new ConfigError(`${name} and ${fileVar} are both set; set only one of them`);
  if (!hasFile) return hasDirect ? direct : undefined;
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(`${fileVar}: cannot read ${path} (${code})`);
  }
  const value = content.replace(/\r?\n$/, '');
  if (value === '') throw new ConfigError(`${fileVar}: ${path} is empty`);
  return value;
}

/** `env` without steward's own secret settings and their `_FILE` forms: what every child gets. */
export function withoutSecrets(env: Env): Record<string, string | undefined> {
  const drop = new Set<string>();
  for (const name of secretVariableNames()) {
    if (SHARED_WITH_CHILDREN.has(name)) continue;
    drop.add(name);
    drop.add(name + FILE_SUFFIX);
  }
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(env)) if (!drop.has(name)) out[name] = value;
  return out;
}

/**
 * steward's own options (argv before `optionsEnd`, the app's command after it) with the values of
 * secret flags masked, for the process title: a flag's value is visible to every process in
 * /proc/<pid>/cmdline until steward overwrites it. Also names the secret flags that were given.
 */
export function maskSecretFlags(argv: readonly string[], optionsEnd: number): { masked: string[]; flags: string[] } {
  const secretFlags = new Set((Object.keys(OPTIONS) as OptionKey[]).filter((k) => OPTIONS[k].secret).map((k) => `--${OPTIONS[k].flag}`));
  const masked = [...argv];
  const flags: string[] = [];
  for (let i = 0; i < optionsEnd; i++) {
    const word = argv[i] ?? '';
    const eq = word.indexOf('=');
    const flag = eq === -1 ? word : word.slice(0, eq);
    if (!secretFlags.has(flag)) continue;
    flags.push(flag);
    if (eq !== -1) masked[i] = `${flag}=***`;
    else if (i + 1 < optionsEnd) masked[++i] = '***';
  }
  return { masked, flags };
}
