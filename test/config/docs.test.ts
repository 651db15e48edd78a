import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { configurationReference } from '../../src/config/reference.ts';
import { ROOT } from '../support/steward.ts';

it('docs/configuration.md matches the option table (run `node scripts/docs.ts`)', () => {
  assert.equal(readFileSync(join(ROOT, 'docs', 'configuration.md'), 'utf8'), configurationReference());
});
