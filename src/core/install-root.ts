// steward's installation directory (the one holding package.json and node_modules). dist/ is
// CommonJS and has __dirname; sources run as ESM in tests, where the entry script's location
// stands in. Searching upward for steward's own package.json makes both land in the same place.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export function installRoot(): string {
  const start = typeof __dirname === 'string' ? __dirname : dirname(process.argv[1] ?? process.cwd());
  for (let dir = start; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && /"name":\s*"steward"/.test(readFileSync(manifest, 'utf8'))) return dir;
    if (dirname(dir) === dir) return start;
  }
}
