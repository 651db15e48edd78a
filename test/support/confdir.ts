// A throw-away confdir (conf.d/ and templates/) and an output directory for end-to-end tests.

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Confdir {
  readonly dir: string;
  /** Where resources write (`$OUT` in resource text is replaced by it). */
  readonly out: string;
  file(relative: string, text: string): string;
}

export function makeConfdir(resources: Record<string, string> = {}, templates: Record<string, string> = {}): Confdir {
  const dir = mkdtempSync(join(tmpdir(), 'steward-confdir-'));
  const out = join(dir, 'out');
  mkdirSync(join(dir, 'conf.d'), { recursive: true });
  mkdirSync(join(dir, 'templates'), { recursive: true });
  mkdirSync(out);
  const file = (relative: string, text: string): string => {
    const path = join(dir, relative);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, text.replaceAll('$OUT', out));
    return path;
  };
  for (const [name, text] of Object.entries(resources)) file(join('conf.d', name), text);
  for (const [name, text] of Object.entries(templates)) file(join('templates', name), text);
  return { dir, out, file };
}
