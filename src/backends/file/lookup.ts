// Which files a --file path stands for, as confd's util.RecursiveFilesLookup(path, "*") finds
// them: a file as it is; a directory walked recursively in lexical (byte) order, every regular
// file whatever its name (confd's default -filter is "*", which also matches dot-files),
// symlinks resolved, symlinked directories not descended into, unreadable directories skipped.

import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface FoundFile {
  /** The path as the walk reached it, for messages. */
  readonly path: string;
  /** Where to read it (symlinks resolved). */
  readonly real: string;
}

export class FileLookupError extends Error {}

export async function findFiles(root: string): Promise<FoundFile[]> {
  const top = await realpathOrFail(root);
  const info = await stat(top).catch((error: unknown) => {
    throw new FileLookupError(`${root}: ${describe(error)}`);
  });
  if (!info.isDirectory()) return [{ path: root, real: top }];
  const found: FoundFile[] = [];
  await walk(top, found);
  return found;
}

async function walk(dir: string, found: FoundFile[]): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  names.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  for (const name of names) {
    const path = join(dir, name);
    let info;
    try {
      info = await lstat(path);
    } catch {
      // Gone since readdir: the next change event re-reads anyway.
      continue;
    }
    if (info.isDirectory()) {
      await walk(path, found);
      continue;
    }
    const real = await realpathOrFail(path);
    const target = await stat(real).catch((error: unknown) => {
      throw new FileLookupError(`${path}: ${describe(error)}`);
    });
    if (!target.isDirectory()) found.push({ path, real });
  }
}

async function realpathOrFail(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch (error) {
    throw new FileLookupError(`${path}: ${describe(error)}`);
  }
}

export function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'no such file or directory';
    if (code === 'EACCES') return 'permission denied';
    return error.message;
  }
  return String(error);
}
