// steward's functions cross to the render thread as their answers: a function of no arguments
// by its value (or what it threw), hasLock() by a table of the configured paths.

import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { extrasFromSnapshot, snapshotExtras, type ExtraAnswer } from '../../src/render/index.ts';

describe('the snapshot of steward functions', () => {
  it('answers as the functions did when it was taken, whatever happens after', () => {
    let role = 'leader';
    const snapshot = structuredClone(snapshotExtras({ role: () => role, members: () => [{ id: 'a' }, { id: 'b' }] }));
    role = 'follower';
    const f = extrasFromSnapshot(snapshot);
    assert.equal(f['role']?.(), 'leader');
    // Each call gets its own copy, as each call of the function did.
    (f['members']?.() as unknown[]).reverse();
    assert.deepEqual(f['members']?.(), [{ id: 'a' }, { id: 'b' }]);
  });

  it('throws what the function threw, and refuses a function of arguments that offers no table', () => {
    const f = extrasFromSnapshot(structuredClone(snapshotExtras({
      broken: () => {
        throw new Error('no session');
      },
      takesArgs: (x: unknown) => x,
    })));
    assert.throws(() => f['broken']?.(), { message: 'no session' });
    assert.throws(() => f['takesArgs']?.('a'), { message: 'takesArgs takes arguments and cannot be called from the render thread' });
  });

  it('looks a path up in the table the function offers, as path.resolve names it', () => {
    const hasLock = Object.assign((path: unknown) => String(path) === '/locks/a', {
      snapshot: (): ExtraAnswer => ({ kind: 'by-path', answers: { '/locks/a': true, '/locks/b': false }, otherwise: false }),
    });
    const f = extrasFromSnapshot(structuredClone(snapshotExtras({ hasLock })));
    assert.equal(f['hasLock']?.('/locks/a'), true);
    assert.equal(f['hasLock']?.('/locks/../locks/a'), true);
    assert.equal(f['hasLock']?.('/locks/b'), false);
    assert.equal(f['hasLock']?.('elsewhere'), false);
    assert.equal(f['hasLock']?.(resolve('/locks/a/')), true);
  });
});
