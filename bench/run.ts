// `npm run bench`: every benchmark in bench/, one after the other, each printing its table.

import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
for (const file of readdirSync(here).filter((f) => f.endsWith('.ts') && f !== 'run.ts').sort()) {
  if (only.length > 0 && !only.some((o) => file.includes(o))) continue;
  process.stdout.write(`\n== ${file} ==\n`);
  const r = spawnSync(process.execPath, [join(here, file)], { stdio: 'inherit' });
  if (r.status !== 0) process.exitCode = 1;
}
