// Reading the file backend's files: every file, or every file under a directory, flattened into
// keys and values exactly as confd's file backend does (§3.3 of the confd notes: map keys and
// list indexes joined with "/", numbers and booleans printed the Go way, nulls dropped, later
// files overriding earlier ones, plain string-prefix matching).

import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Cursor } from '../backend.ts';
import { flattenDocument } from './flatten.ts';
import { describe, findFiles } from './lookup.ts';

/** Where a watch starts from: what the read before it handed out. */
export interface FileCursor {
  readonly kind: 'steward-file-cursor';
  /** What the reader was given: the values under the keys it read. */
  readonly values: ReadonlyMap<string, string>;
}

export function isFileCursor(cursor: Cursor): cursor is FileCursor {
  return typeof cursor === 'object' && cursor !== null && (cursor as { kind?: unknown }).kind === 'steward-file-cursor';
}

/** confd's file backend matches with strings.HasPrefix on the flattened key. */
export function covers(requested: string, key: string): boolean {
  return key.startsWith(requested);
}

/** What identifies the files' current contents (inode, size, change time of each). */
export async function stampOf(files: readonly string[]): Promise<string> {
  const parts: string[] = [];
  for (const configured of files) {
    try {
      for (const found of await findFiles(configured)) {
        const st = statSync(found.real, { throwIfNoEntry: false, bigint: true });
        parts.push(`${found.real}:${st?.ino}:${st?.size}:${st?.ctimeNs}:${st?.mtimeNs}`);
      }
    } catch {
      parts.push(`${configured}:unreadable`);
    }
  }
  return parts.join('|');
}

/** Every key of every file, later files overriding earlier ones. */
export async function readAll(files: readonly string[]): Promise<Map<string, string>> {
  const yaml = await import('yaml');
  const values = new Map<string, string>();
  for (const configured of files) {
    for (const found of await findFiles(configured)) {
      let text: string;
      try {
        text = await readFile(found.real, 'utf8');
      } catch (error) {
        throw new Error(`${found.path}: ${describe(error)}`);
      }
      flattenDocument(yaml, found.path, text, values);
    }
  }
  return values;
}
