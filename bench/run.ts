// `npm run bench`: every benchmark in bench/, one after the other, each printing its table
// (startup.ts, issue 17's table against Node and confd, first). Files that are not benchmarks of
// their own, and the soak (30 minutes), run only when named: `npm run bench -- soak`.

import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const HELPERS = new Set(['run.ts', 'support.ts', 'processes.ts']);
const ONLY_WHEN_NAMED = new Set(['soak.ts']);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && !HELPERS.has(f))
  .sort((a, b) => Number(b === 'startup.ts') - Number(a === 'startup.ts') || a.localeCompare(b));
for (const file of files) {
  if (only.length > 0 ? !only.some((o) => file.includes(o)) : ONLY_WHEN_NAMED.has(file)) continue;
  process.stdout.write(`\n== ${file} ==\n`);
  const r = spawnSync(process.execPath, [join(here, file)], { stdio: 'inherit' });
  if (r.status !== 0) process.exitCode = 1;
}
