// Node's module compile cache (V8 code cache on disk) for steward's own start: the image build
// fills it once (scripts/compile-cache.ts), and every start then skips compiling the modules it
// loads. It must be on before those modules load, so it is read from the environment alone,
// ahead of the options (which need modules to parse).

import { statSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { join } from 'node:path';

/** The variable that names the cache directory; `off` disables the cache. */
export const COMPILE_CACHE_VARIABLE = 'STEWARD_COMPILE_CACHE';

/** Where the image build puts the cache unless told otherwise; `npm run build` empties dist/, and so the cache. */
export function defaultCompileCacheDir(root: string): string {
  return join(root, 'dist', '.compile-cache');
}

/**
 * The directory to use, or undefined for none: the variable's, or the default one, and only when
 * it exists (so a development checkout without a filled cache writes nothing). Node creates a
 * missing one itself, but its creation loops for ever under /proc: steward never asks it to.
 */
export function compileCacheDir(env: NodeJS.ProcessEnv, root: string): string | undefined {
  const chosen = env[COMPILE_CACHE_VARIABLE];
  if (chosen === 'off') return undefined;
  const dir = chosen !== undefined && chosen !== '' ? chosen : defaultCompileCacheDir(root);
  return statSync(dir, { throwIfNoEntry: false })?.isDirectory() === true ? dir : undefined;
}

/**
 * Turns the cache on when there is a directory for it; a directory that cannot be used leaves it
 * off. A Node without the cache (before 22.1) goes on to cli.ts's version check, which names it.
 */
export function useCompileCache(env: NodeJS.ProcessEnv, root: string): void {
  const enable = (nodeModule as Partial<typeof nodeModule>).enableCompileCache;
  if (typeof enable !== 'function') return;
  const dir = compileCacheDir(env, root);
  if (dir !== undefined) enable(dir);
}
