// Writes docs/configuration.md from the option table (src/config/options.ts), so that the
// reference cannot drift from what steward accepts. test/config/docs.test.ts fails when the
// committed file is stale: run `node scripts/docs.ts` after changing an option.

import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configurationReference } from '../src/config/reference.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
writeFileSync(join(root, 'docs', 'configuration.md'), configurationReference());
