// src/render/index.ts is what the rest of steward imports; loading it must not load an engine.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';

test('importing the render package loads neither the Go engine nor nunjucks', () => {
  const index = pathToFileURL(new URL('../../src/render/index.ts', import.meta.url).pathname).href;
  const script = `
    import { registerHooks } from 'node:module';
    const loaded = [];
    registerHooks({ resolve: (specifier, context, next) => { const r = next(specifier, context); loaded.push(r.url); return r; } });
    await import(${JSON.stringify(index)});
    console.log(JSON.stringify(loaded));
  `;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const loaded = JSON.parse(run.stdout) as string[];
  assert.ok(loaded.some((u) => u.endsWith('/render/index.ts')), 'the hook saw the import');
  const engines = loaded.filter((u) => /\/render\/(go-engine|nunjucks|go\/(parse|exec|template))\.ts$|\/nunjucks\//.test(u));
  assert.deepEqual(engines, []);
});
