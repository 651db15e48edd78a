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
  it('is the variable\'s or the default one, only when it exists, and none for off', () => {
    const root = join(dir, 'root');
    assert.equal(compileCacheDir({ STEWARD_COMPILE_CACHE: dir }, root), dir);
    assert.equal(compileCacheDir({ STEWARD_COMPILE_CACHE: join(dir, 'missing') }, root), undefined);
    assert.equal(compileCacheDir({}, root), undefined);
    mkdirSync(defaultCompileCacheDir(root), { recursive: true });
    assert.equal(compileCacheDir({}, root), defaultCompileCacheDir(root));
    assert.equal(compileCacheDir({ STEWARD_COMPILE_CACHE: 'off' }, root), undefined);
  });

  it('leaves a directory that cannot hold a cache alone, and steward runs its app', () => {
    // Node's own creation of a cache directory under /proc never returns.
    const r = spawnSync(STEWARD, ['--', 'sh', '-c', 'echo app ran'], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, STEWARD_COMPILE_CACHE: '/proc/steward-compile-cache', STEWARD_CONTROL_SOCKET: 'off' },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'app ran\n');
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
