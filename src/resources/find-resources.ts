// Which template resources exist (conf.d/**/*toml), without loading anything to parse them:
// a run with none stays a pure init.

import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
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
  const walk = (dir: string, top: boolean): void => {
    const entries = readdirSync(dir, { withFileTypes: true }).filter((entry) => !(top && inMemory?.confd.has(entry.name) === true));
    const names = [...entries.map((entry) => entry.name), ...(top ? memory : [])].sort((a, b) => (a < b ? -1 : 1));
    for (const name of names) {
      const entry = entries.find((e) => e.name === name);
      if (entry === undefined) {
        found.push(join(root, name));
        continue;
      }
      const path = join(dir, entry.name);
      const isDir = entry.isDirectory() || (entry.isSymbolicLink() && statSync(path, { throwIfNoEntry: false })?.isDirectory() === true);
      if (isDir) walk(path, false);
      else if (entry.name.endsWith('toml')) found.push(path);
    }
  };
  if (existsSync(root)) walk(realpathSync(root), true);
  else found.push(...memory.sort().map((name) => join(root, name)));
  return found;
}
