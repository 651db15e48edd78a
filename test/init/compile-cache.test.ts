// The compile cache: the image build's step fills a directory, and steward's next start reads its
// modules' compiled code from it instead of compiling them.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { compileCacheDir, defaultCompileCacheDir } from '../../src/init/compile-cache.ts';
import { NODE, ROOT, STEWARD } from '../support/steward.ts';

const dir = mkdtempSync(join(tmpdir(), 'steward-compile-cache-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('compile cache directory', () => {
  it('is the variable\'s, none for off, else the default one only when the build made it', () => {
    const root = join(dir, 'root');
    assert.equal(compileCacheDir({ STEWARD_COMPILE_CACHE: '/var/cache/steward' }, root), '/var/cache/steward');
    assert.equal(compileCacheDir({}, root), undefined);
    mkdirSync(defaultCompileCacheDir(root), { recursive: true });
    assert.equal(compileCacheDir({}, root), defaultCompileCacheDir(root));
    assert.equal(compileCacheDir({ STEWARD_COMPILE_CACHE: 'off' }, root), undefined);
  });
});

describe('scripts/compile-cache.ts', () => {
  it('fills a cache that a start of steward then reads its modules from', () => {
    const cache = join(dir, 'filled');
    const fill = spawnSync(NODE, [join(ROOT, 'scripts', 'compile-cache.ts'), cache], { encoding: 'utf8' });
    assert.equal(fill.status, 0, fill.stderr);
    assert.ok(readdirSync(cache).length > 0);
    const start = spawnSync(STEWARD, ['--', 'true'], {
      encoding: 'utf8',
      env: { ...process.env, STEWARD_COMPILE_CACHE: cache, STEWARD_CONTROL_SOCKET: 'off', NODE_DEBUG_NATIVE: 'COMPILE_CACHE' },
    });
    assert.equal(start.status, 0, start.stderr);
    // Node's own report of the cache, one line per module.
    assert.match(start.stderr, /V8 code cache for CommonJS \S+\/dist\/core\/run\.js was accepted/);
    assert.doesNotMatch(start.stderr, /was rejected/);
  });
});
