// Which template resources exist (conf.d/**/*toml), without loading anything to parse them:
// a run with none stays a pure init.

import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** conf.d/ files whose name ends in `toml` (confd's `*toml` glob), walked recursively, sorted. */
export function findResourceFiles(confdir: string): string[] {
  const root = join(confdir, 'conf.d');
  if (!existsSync(root)) return [];
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(dir, entry.name);
      const isDir = entry.isDirectory() || (entry.isSymbolicLink() && statSync(path, { throwIfNoEntry: false })?.isDirectory() === true);
      if (isDir) walk(path);
      else if (entry.name.endsWith('toml')) found.push(path);
    }
  };
  walk(realpathSync(root));
  return found;
}
