// The README's first command must stay true: the embedded demo renders and the app sees the file.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { ROOT, runSteward } from './support/steward.ts';

it('the README demo command renders the demo configuration before the app runs', async () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const line = /```sh\nnpm ci && \.\/bin\/steward (.*)\n/.exec(readme)?.[1];
  assert.ok(line, 'the README opens with the demo command');
  const args = line.split(' ');
  const r = await runSteward(args, { pid1: false });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout, [
    '# rendered by steward from values.yaml',
    'listen 0.0.0.0:8080',
    'upstream api 10.0.0.10:9000',
    'upstream web 10.0.0.11:9001',
    'log_level info',
  ]);
});
