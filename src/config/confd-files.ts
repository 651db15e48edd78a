// CONFD_CONFDFILE[_x] and CONFD_TEMPLATE[_x], read as confd-sidecar read them: the first line of
// the value is the file name, the rest is the content, written verbatim into
// $CONFD_CONFDIR/conf.d/ and $CONFD_CONFDIR/templates/ before anything else happens.
// Where confd-sidecar did something a user would not want, steward refuses with a clear error
// instead: a value without a newline (the sidecar wrote an empty file named after the whole
// value), a name with a path in it (it wrote outside the folder), two variables naming the same
// file with different contents (one won at random). A trailing \r on the name line is dropped.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic-file.ts';
import { ConfigError } from '../core/exit-codes.ts';
import type { InMemoryFiles } from '../resources/find-resources.ts';

export interface ConfdFile {
  /** The variable it came from. */
  readonly variable: string;
  readonly kind: 'conf.d' | 'templates';
  readonly name: string;
  readonly content: string;
}

const KINDS: readonly { prefix: string; kind: ConfdFile['kind'] }[] = [
  { prefix: 'CONFD_CONFDFILE', kind: 'conf.d' },
  { prefix: 'CONFD_TEMPLATE', kind: 'templates' },
];

/** The files the environment carries, sorted by variable name, validated. */
export function confdFilesFromEnv(env: Readonly<Record<string, string | undefined>>): ConfdFile[] {
  const files: ConfdFile[] = [];
  for (const variable of Object.keys(env).sort()) {
    const value = env[variable];
    const kind = KINDS.find((k) => variable === k.prefix || variable.startsWith(`${k.prefix}_`))?.kind;
    if (kind === undefined || value === undefined) continue;
    const newline = value.indexOf('\n');
    if (newline === -1) {
      throw new ConfigError(`${variable}: the first line must be the file name and the rest its content, but the value has no newline`);
    }
    const name = value.slice(0, newline).replace(/\r$/, '').trim();
    if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
      throw new ConfigError(`${variable}: invalid file name ${JSON.stringify(name)} on its first line (a plain file name, no directories)`);
    }
    files.push({ variable, kind, name, content: value.slice(newline + 1) });
  }
  const seen = new Map<string, ConfdFile>();
  for (const f of files) {
    const key = `${f.kind}/${f.name}`;
    const before = seen.get(key);
    if (before !== undefined && before.content !== f.content) {
      throw new ConfigError(`${before.variable} and ${f.variable} both write ${f.kind}/${f.name} with different contents`);
    }
    seen.set(key, f);
  }
  return files;
}

/** The files by kind and name, to be read from memory instead of written (--noop, --check). */
export function confdFilesInMemory(files: readonly ConfdFile[]): InMemoryFiles {
  const of = (kind: ConfdFile['kind']) => new Map(files.filter((f) => f.kind === kind).map((f) => [f.name, f.content]));
  return { confd: of('conf.d'), templates: of('templates') };
}

/** Writes each file atomically (temp file + rename) unless it already has this content. */
export function writeConfdFiles(confdir: string, files: readonly ConfdFile[]): string[] {
  const written: string[] = [];
  for (const f of files) {
    const dir = join(confdir, f.kind);
    const path = join(dir, f.name);
    try {
      if (readFileSync(path, 'utf8') === f.content) continue;
    } catch {
      // Not there yet.
    }
    try {
      writeFileAtomic(path, f.content);
      written.push(path);
    } catch (error) {
      throw new ConfigError(`${f.variable}: cannot write ${path} (${(error as Error).message})`);
    }
  }
  return written;
}
