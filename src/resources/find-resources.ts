// Which template resources exist (conf.d/**/*toml), without loading anything to parse them:
// a run with none stays a pure init.

import { existsSync, lstatSync, readdirSync, realpathSync, statSync, type Dirent, type Stats } from 'node:fs';
import { ConfigError } from '../core/exit-codes.ts';
import { join } from 'node:path';

/**
 * Files of conf.d/ and templates/ held in memory, by plain file name: the CONFD_* variables under
 * --noop and --check, which write nothing. They stand in for files of the same name on disk.
 */
export interface InMemoryFiles {
  readonly confd: ReadonlyMap<string, string>;
  readonly templates: ReadonlyMap<string, string>;
}

/**
 * conf.d/ files whose name ends in `toml` (confd's `*toml` glob), walked recursively, sorted;
 * in-memory ones are `<confdir>/conf.d/<name>`.
 */
export function findResourceFiles(confdir: string, inMemory?: InMemoryFiles): string[] {
  const root = join(confdir, 'conf.d');
  const memory = [...(inMemory?.confd.keys() ?? [])].filter((name) => name.endsWith('toml'));
  const found: string[] = [];
  // `ancestors` holds the real paths of the directories being walked: a symlink back to one of
  // them is a loop, refused by name rather than followed until the path is too long.
  const walk = (dir: string, ancestors: ReadonlySet<string>, top: boolean): void => {
    const entries = listOf(dir).filter((entry) => !(top && inMemory?.confd.has(entry.name) === true));
    const names = [...entries.map((entry) => entry.name), ...(top ? memory : [])].sort((a, b) => (a < b ? -1 : 1));
    for (const name of names) {
      const entry = entries.find((e) => e.name === name);
      if (entry === undefined) {
        found.push(join(root, name));
        continue;
      }
      const path = join(dir, entry.name);
      const isDir = entry.isDirectory() || (entry.isSymbolicLink() && statOf(path)?.isDirectory() === true);
      if (isDir) {
        const target = realOf(path);
        if (ancestors.has(target)) throw new ConfigError(`${path}: symlink loop in ${root} (it leads back to ${target})`);
        walk(path, new Set([...ancestors, target]), false);
      } else if (entry.name.endsWith('toml')) {
        found.push(path);
      }
    }
  };
  if (!existsSync(root)) {
    if (lstatSync(root, { throwIfNoEntry: false })?.isSymbolicLink() === true) statOf(root);
    return memory.sort().map((name) => join(root, name));
  }
  const top = realOf(root);
  walk(top, new Set([top]), true);
  return found;
}

// A symlink that resolves to itself (a -> a, or a -> b -> a) fails with ELOOP.
function statOf(path: string): Stats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch (error) {
    throw unusable(path, error);
  }
}

function listOf(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    throw unusable(dir, error);
  }
}

function realOf(path: string): string {
  try {
    return realpathSync(path);
  } catch (error) {
    throw unusable(path, error);
  }
}

function unusable(path: string, error: unknown): ConfigError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ELOOP') return new ConfigError(`${path}: symlink loop (it never resolves to a file or directory)`);
  return new ConfigError(`${path}: cannot read it (${code ?? String(error)})`);
}
