// Reads confd's template resources (conf.d/**/*toml) with confd's semantics, plus steward's own
// optional keys (reload, wait, engine). A resource that cannot be used is a ConfigError naming
// its file (and line, for TOML syntax); an unknown key is a warning, since confd ignored them.

import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import { integer, oneOf, readFields, text, textOrInteger, textOrTexts, texts } from '../config/toml-fields.ts';
import { parseSignal, parseWait } from '../config/values.ts';
import { ConfigError } from '../core/exit-codes.ts';
import type { Logger } from '../core/log.ts';
import { goPathJoin, type EngineName } from '../render/index.ts';
import { findResourceFiles, type InMemoryFiles } from './find-resources.ts';
import type { ReloadAction, TemplateResource } from './resource.ts';

const TEMPLATE_FIELDS = {
  src: text,
  dest: text,
  keys: texts,
  prefix: text,
  mode: textOrInteger,
  uid: integer,
  gid: integer,
  check_cmd: text,
  reload_cmd: text,
  reload: text,
  reload_process: textOrTexts,
  wait: text,
  engine: oneOf('go', 'nunjucks'),
};

const UNSAFE_PATH = /[^A-Za-z0-9._/-]/;

export interface LoadOptions {
  readonly confdir: string;
  /** The global prefix (--prefix / CONFD_PREFIX), if any. */
  readonly prefix: string | undefined;
  readonly log: Logger;
  /** Files that stand in for conf.d/ and templates/ files of the same name (--noop, --check). */
  readonly inMemory?: InMemoryFiles;
}

/** confd reads `mode` with Go's ParseUint(mode, 0, 32): "0644" is octal, "644" decimal (!), "0x1a4" hex. */
export function parseConfdMode(raw: string | number, where: string, log: Logger): number {
  let value: number;
  if (typeof raw === 'number') {
    value = raw;
  } else {
    const text = raw.trim().replaceAll('_', '');
    let m: RegExpExecArray | null;
    if ((m = /^0[xX]([0-9a-fA-F]+)$/.exec(text))) value = Number.parseInt(m[1] ?? '', 16);
    else if ((m = /^0[oO]([0-7]+)$/.exec(text))) value = Number.parseInt(m[1] ?? '', 8);
    else if ((m = /^0[bB]([01]+)$/.exec(text))) value = Number.parseInt(m[1] ?? '', 2);
    else if (/^0[0-7]*$/.test(text)) value = Number.parseInt(text, 8);
    else if (/^[1-9][0-9]*$/.test(text)) {
      value = Number.parseInt(text, 10);
      log.warn(`${where}: mode ${JSON.stringify(raw)} has no leading 0, so it is decimal (as in confd): file mode ${(value & 0o777).toString(8).padStart(4, '0')}; write "0${text}" for octal`);
    } else {
      throw new ConfigError(`${where}: invalid mode ${JSON.stringify(raw)} (expected an octal string such as "0644")`);
    }
  }
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new ConfigError(`${where}: invalid mode ${JSON.stringify(raw)} (expected an octal string such as "0644")`);
  }
  // Go's os.FileMode keeps setuid/setgid/sticky in other bits than Unix does, so confd's chmod
  // only ever applied the permission bits of the number.
  return value & 0o777;
}

function parseReload(raw: string | undefined, where: string): ReloadAction {
  if (raw === undefined) return { kind: 'signal', signal: 'SIGHUP' };
  const word = raw.trim().toLowerCase();
  if (word === 'restart') return { kind: 'restart' };
  if (word === 'none') return { kind: 'none' };
  try {
    return { kind: 'signal', signal: parseSignal(raw, where) };
  } catch {
    throw new ConfigError(`${where}: invalid reload ${JSON.stringify(raw)} (expected a signal such as "SIGHUP", "restart" or "none")`);
  }
}

/** reload_process = "haproxy" or a list; absent (or naming the app alone): the app, as in confd. */
function parseReloadProcesses(raw: string | string[] | undefined, given: boolean, where: string): TemplateResource['reloadProcesses'] {
  if (raw === undefined) return undefined;
  const names = [...new Set((typeof raw === 'string' ? [raw] : raw).map((n) => n.trim().toLowerCase()))];
  if (names.length === 0 || names.some((n) => !/^[a-z0-9][a-z0-9_-]*$/.test(n))) {
    throw new ConfigError(`${where}: invalid reload_process ${JSON.stringify(raw)} (expected a process name such as "haproxy", "app", or a list of them)`);
  }
  return { names, ownSignal: !given };
}

/** confd: a non-empty global prefix replaces the resource's; the result starts with a slash. */
function effectivePrefix(global: string | undefined, own: string | undefined): string {
  const prefix = global !== undefined && global !== '' ? global : (own ?? '');
  return prefix.startsWith('/') ? prefix : `/${prefix}`;
}

export function loadResource(tomlPath: string, options: LoadOptions): TemplateResource {
  const name = relative(join(options.confdir, 'conf.d'), tomlPath) || tomlPath;
  const where = `template resource ${tomlPath}`;
  const memoryText = dirname(tomlPath) === join(options.confdir, 'conf.d') ? options.inMemory?.confd.get(basename(tomlPath)) : undefined;
  let document: Record<string, unknown>;
  try {
    document = parseToml(memoryText ?? readFileSync(tomlPath, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof TomlError) {
      const firstLine = error.message.split('\n')[0] ?? error.message;
      throw new ConfigError(`${tomlPath}:${error.line}:${error.column}: ${firstLine}`);
    }
    throw new ConfigError(`${where}: cannot read it (${String(error)})`);
  }
  const table = document['template'];
  if (table === undefined || typeof table !== 'object' || table === null || Array.isArray(table)) {
    throw new ConfigError(`${where}: no [template] table`);
  }
  for (const key of Object.keys(document)) {
    if (key !== 'template') options.log.warn(`${where}: unknown table [${key}] is ignored`);
  }
  const t = readFields(table as Record<string, unknown>, TEMPLATE_FIELDS, where, (key) =>
    options.log.warn(`${where}: unknown key ${JSON.stringify(key)} is ignored`),
  );
  for (const id of ['uid', 'gid'] as const) {
    const value = t[id];
    if (value !== undefined && value < -1) throw new ConfigError(`${where}: ${id} must be a user or group id, not ${value}`);
  }
  if (t.src === undefined || t.src === '') throw new ConfigError(`${where}: src is missing (the template file, relative to ${join(options.confdir, 'templates')})`);
  if (t.dest === undefined || t.dest === '') throw new ConfigError(`${where}: dest is missing (the file to write)`);
  // confd joins src to the templates directory even when it is absolute. A src that climbs out
  // of it ("../../etc/shadow") would copy any file steward can read into the destination.
  const templatesDir = join(options.confdir, 'templates');
  const src = join(templatesDir, t.src);
  const inside = relative(templatesDir, src);
  if (inside === '' || inside === '..' || inside.startsWith('../')) {
    throw new ConfigError(`${where}: src ${JSON.stringify(t.src)} is outside ${templatesDir} (a template must be a file in that directory or below it)`);
  }
  const templateText = dirname(src) === join(options.confdir, 'templates') ? options.inMemory?.templates.get(basename(src)) : undefined;
  if (templateText === undefined && !existsSync(src)) throw new ConfigError(`${where}: template ${src} does not exist`);
  const dest = isAbsolute(t.dest) ? t.dest : join(process.cwd(), t.dest);
  // check_cmd gets the stage file's path pasted unquoted into sh -c ({{.src}}, as confd does and
  // confd's TOMLs expect). The stage file's own name is made safe (stage-and-swap.ts); its
  // directory is the destination's, so that must be safe as it is. Refused whether or not this
  // resource has a check_cmd today: adding one later must not turn a path into a command.
  if (UNSAFE_PATH.test(dirname(dest))) {
    throw new ConfigError(
      `${where}: the directory of dest ${JSON.stringify(dest)} has characters a shell would interpret, and a check_cmd gets a path in it unquoted (allowed: letters, digits, . _ - /)`,
    );
  }
  const prefix = effectivePrefix(options.prefix, t.prefix);
  const keys = t.keys ?? [];
  const engine: EngineName = t.engine ?? (t.src.endsWith('.njk') ? 'nunjucks' : 'go');
  if ((t.check_cmd !== undefined || t.reload_cmd !== undefined) && !existsSync('/bin/sh')) {
    throw new ConfigError(`${where}: check_cmd and reload_cmd run through /bin/sh (as in confd), and this image has no /bin/sh`);
  }
  return {
    name,
    tomlPath,
    src,
    ...(templateText === undefined ? {} : { templateText }),
    dest,
    keys,
    prefix,
    backendKeys: keys.map((k) => goPathJoin(prefix, k)),
    mode: t.mode === undefined || t.mode === '' ? undefined : parseConfdMode(t.mode, where, options.log),
    uid: t.uid === undefined || t.uid === -1 ? undefined : t.uid,
    gid: t.gid === undefined || t.gid === -1 ? undefined : t.gid,
    checkCmd: t.check_cmd === '' ? undefined : t.check_cmd,
    reloadCmd: t.reload_cmd === '' ? undefined : t.reload_cmd,
    reload: parseReload(t.reload, `${where}: reload`),
    ...(t.reload_process === undefined ? {} : { reloadProcesses: parseReloadProcesses(t.reload_process, t.reload !== undefined, where) }),
    wait: t.wait === undefined ? undefined : parseWait(t.wait, `${where}: wait`),
    engine,
  };
}

/** Every resource under the confdir; the first unusable one is a ConfigError. */
export function loadResources(options: LoadOptions): TemplateResource[] {
  return findResourceFiles(options.confdir, options.inMemory).map((path) => loadResource(path, options));
}
