// KvStore: memkv's semantics as confd uses them (results checked against memkv under Go).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GoError, MissingKeyError } from '../../src/render/go/errors.ts';
import { clean, match } from '../../src/render/go/path.ts';
import { KvStore } from '../../src/render/confd/store.ts';

const store = new KvStore([
  ['/app/b', 'two'],
  ['/app/a', 'one'],
  ['/app/sub/c', 'three'],
  ['/app/sub/d/e', 'four'],
  ['/app/sub2/x', '5'],
  ['/apple', 'pie'],
  ['/app', 'root?'],
  ['/top', 'z'],
]);

describe('get, getv, exists', () => {
  test('get returns the pair; a missing key throws memkv\'s error naming the key', () => {
    assert.deepEqual(store.get('/app/a'), { Key: '/app/a', Value: 'one' });
    assert.throws(() => store.get('/nope'), (e: unknown) => {
      assert.ok(e instanceof MissingKeyError);
      assert.equal(e.message, 'key does not exist: /nope');
      assert.equal(e.key, '/nope');
      return true;
    });
  });

  test('getv takes the first default only when the key is missing, even an empty one', () => {
    assert.equal(store.getv('/app/a'), 'one');
    assert.equal(store.getv('/nope', 'dflt', 'ignored'), 'dflt');
    assert.equal(store.getv('/nope', ''), '');
    assert.throws(() => store.getv('/nope'), { message: 'key does not exist: /nope' });
  });

  test('keys are exact: no trailing-slash or relative matching', () => {
    assert.equal(store.exists('/app/a'), true);
    assert.equal(store.exists('/app/a/'), false);
    assert.equal(store.exists('app/a'), false);
  });
});

describe('gets, getvs', () => {
  test('gets matches with path.Match and sorts by key; getvs sorts the values', () => {
    assert.deepEqual(store.gets('/app/*').map((p) => p.Key), ['/app/a', '/app/b']);
    assert.deepEqual(store.getvs('/app/*'), ['one', 'two']);
    assert.deepEqual(store.getvs('/app/sub/*'), ['three']);
    assert.deepEqual(store.gets('/app*').map((p) => p.Key), ['/app', '/apple']);
    assert.deepEqual(store.gets('/nothing/*'), []);
  });

  test('getvs orders by value, not by key', () => {
    const s = new KvStore([['/k/1', 'b'], ['/k/2', 'a'], ['/k/3', 'B']]);
    assert.deepEqual(s.getvs('/k/*'), ['B', 'a', 'b']);
  });

  test('a malformed pattern is reported only when some key reaches the bad part', () => {
    assert.throws(() => store.gets('/app/['), { message: 'syntax error in pattern' });
    assert.deepEqual(new KvStore().gets('['), []);
  });
});

describe('ls, lsdir', () => {
  test('ls lists the next path segment under a directory, and the base name of a key', () => {
    // "/app" is also a key, so its own base name is listed, but not for "/app/".
    assert.deepEqual(store.ls('/app'), ['a', 'app', 'b', 'sub', 'sub2']);
    assert.deepEqual(store.ls('/app/'), ['a', 'b', 'sub', 'sub2']);
    assert.deepEqual(store.ls('/app/a'), ['a']);
    assert.deepEqual(store.ls('/nope'), []);
  });

  test('ls "/" only sees keys directly under the root, as memkv does', () => {
    assert.deepEqual(store.ls('/'), ['app', 'apple', 'top']);
  });

  test('lsdir lists only segments that have keys below them', () => {
    assert.deepEqual(store.lsdir('/app'), ['sub', 'sub2']);
    assert.deepEqual(store.lsdir('/app/sub'), ['d']);
    assert.deepEqual(store.lsdir('/'), []); // the same "/" quirk as ls
    assert.deepEqual(store.lsdir('/app/a'), []);
  });
});

describe("Go's path package", () => {
  test('clean', () => {
    const cases: [string, string][] = [
      ['', '.'], ['/', '/'], ['//a//b/', '/a/b'], ['a/../..', '..'], ['/../a', '/a'], ['a/./b/.', 'a/b'], ['../../x/..', '../..'],
    ];
    for (const [input, want] of cases) assert.equal(clean(input), want, input);
  });

  test('match: stars stop at slashes, classes, ranges, negation and escapes', () => {
    assert.equal(match('/a/*', '/a/b'), true);
    assert.equal(match('/a/*', '/a/b/c'), false);
    assert.equal(match('/a/?', '/a/é'), true);
    assert.equal(match('/a/[a-c]', '/a/b'), true);
    assert.equal(match('/a/[^a-c]', '/a/b'), false);
    assert.equal(match('/a/[!a]', '/a/b'), false); // "!" is a literal in Go's classes
    assert.equal(match('/a/\\*', '/a/*'), true);
    assert.equal(match('/a/\\*', '/a/b'), false);
    for (const bad of ['[', '[]', '[a-]', '\\', 'a[']) {
      assert.throws(() => match(bad, 'ab'), (e: unknown) => e instanceof GoError && e.message === 'syntax error in pattern', bad);
    }
  });
});
