// `node scripts/compile-cache.ts [DIR]`, after `npm run build` in an image build: fills Node's
// compile cache for steward (default dist/.compile-cache, which steward uses when it exists; any
// other DIR is named to steward with STEWARD_COMPILE_CACHE). Every module of dist/ is loaded once,
// with the packages they load, by the node and flags bin/steward uses, so that a start finds its
// code already compiled (the cache is kept per Node version and V8 flags).

import { spawnSync } from 'node:child_process';
import { accessSync, constants, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const dir = process.argv[2] ?? join(dist, '.compile-cache');

function modules(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return entry.name.startsWith('.') ? [] : modules(path);
    return entry.name.endsWith('.js') && path !== join(dist, 'cli.js') ? [path] : [];
  });
}

// cli.js would run steward; every module it can reach is loaded instead. A module that cannot
// load here (none is expected) is named and skipped: the cache is only a speed-up.
const loader = `
const { enableCompileCache, flushCompileCache } = require('node:module');
const result = enableCompileCache(${JSON.stringify(dir)});
if (result.directory === undefined) { console.error('compile cache: ' + (result.message ?? 'not enabled')); process.exit(1); }
for (const file of ${JSON.stringify(modules(dist))}) {
  try { require(file); } catch (e) { console.error('compile cache: skipped ' + file + ': ' + e.message); }
}
flushCompileCache();
console.log('compile cache: ' + result.directory);
process.exit(0);
`;
// The node bin/steward picks, in its order.
function stewardNode(): string {
  const candidates = [process.env['STEWARD_NODE'], join(root, 'node_modules', 'node', 'bin', 'node'), '/usr/local/bin/node', '/usr/bin/node'];
  for (const candidate of candidates) {
    if (candidate === undefined || candidate === '') continue;
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not this one.
    }
  }
  return process.execPath;
}

// The same flags as bin/steward: V8 keeps code compiled under other flags apart.
const r = spawnSync(stewardNode(), ['--no-warnings', '--expose-gc', '-e', loader], { stdio: 'inherit', cwd: root });
if (r.status !== 0) {
  console.error(`compile cache: not filled (${relative(root, dir)})`);
  process.exit(r.status ?? 1);
}
