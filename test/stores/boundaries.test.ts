// The stores are the one home of each store's connection: the etcd client library stays behind
// src/stores/etcd/, the coordinators reach etcd and Consul through src/stores/ and never through
// the template backends, and the stores depend on neither.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

function sources(dir: string): { readonly path: string; readonly text: string }[] {
  return readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => {
      const path = relative(root, join(entry.parentPath, entry.name));
      return { path, text: readFileSync(join(root, path), 'utf8') };
    });
}

/** Every `import ... from '<module>'` and `import('<module>')`, with whether it imports types only. */
function imports(text: string): { readonly module: string; readonly typeOnly: boolean }[] {
  const found: { module: string; typeOnly: boolean }[] = [];
  for (const m of text.matchAll(/^(import|export)\s+(type\s+)?[^;]*?\sfrom\s+'([^']+)'/gm)) found.push({ module: m[3]!, typeOnly: m[2] !== undefined });
  for (const m of text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)) found.push({ module: m[1]!, typeOnly: false });
  return found;
}

describe('store boundaries', () => {
  it('loads and names etcd3 only inside src/stores/etcd/', () => {
    const outside = sources('src')
      .filter((f) => !f.path.startsWith('src/stores/etcd/'))
      .filter((f) => imports(f.text).some((i) => i.module === 'etcd3'))
      .map((f) => f.path);
    assert.deepEqual(outside, []);
  });

  it('lets the coordinators import nothing but types from the template backends', () => {
    const offending = sources('src/cluster').flatMap((f) =>
      imports(f.text)
        .filter((i) => i.module.includes('/backends/') && !i.typeOnly)
        .map((i) => `${f.path}: ${i.module}`),
    );
    assert.deepEqual(offending, []);
  });

  it('keeps the stores free of the backends and the coordinators', () => {
    const offending = sources('src/stores').flatMap((f) =>
      imports(f.text)
        .filter((i) => /\/(backends|cluster)\//.test(i.module))
        .map((i) => `${f.path}: ${i.module}`),
    );
    assert.deepEqual(offending, []);
  });
});
