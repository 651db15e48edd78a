// While orphans are being reaped, Node's own children (hooks, checks, jobs) still get their
// 'exit' events: the reaper never takes a status that libuv is waiting for.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { loadLibc } from '../../src/init/libc.ts';
import { nodeChildren as nodeChildRegistry, trackNodeSpawns } from '../../src/init/node-children.ts';
import { startReaper } from '../../src/init/reaper.ts';
import { childrenOf, processState } from '../support/steward.ts';
import { until } from '../support/until.ts';

describe('reaper beside Node child processes', () => {
  const libc = loadLibc();
  assert.ok(libc.becomeSubreaper());
  const nodeChildren = nodeChildRegistry();
  before(() => trackNodeSpawns());
  let reaped = 0;
  const reaper = startReaper(libc, nodeChildren, () => reaped++);
  after(() => reaper.stop());

  it('every Node child emits exit while 200 orphans per round are reaped', async () => {
    for (let round = 0; round < 5; round++) {
      const exits: Promise<number | null>[] = [];
      // The orphan factory is itself a Node child; its children are reparented to this process.
      const factory = spawn('/bin/sh', ['-c', 'i=0; while [ $i -lt 200 ]; do (exit 0) & i=$((i+1)); done'], { stdio: 'ignore' });
      exits.push(new Promise((resolve) => factory.on('exit', (code) => resolve(code))));
      for (let i = 0; i < 40; i++) {
        const child = spawn('/bin/sh', ['-c', `exit ${i % 7}`], { stdio: 'ignore' });
        exits.push(new Promise((resolve) => child.on('exit', (code) => resolve(code))));
      }
      const codes = await Promise.all(exits);
      assert.equal(codes[0], 0);
      assert.deepEqual(codes.slice(1), Array.from({ length: 40 }, (_, i) => i % 7));
    }
    await until('no zombies', () => childrenOf(process.pid).filter((p) => processState(p) === 'Z').length === 0 && childrenOf(process.pid).length === 0, 10_000);
    assert.ok(reaped > 0, 'orphans were reaped by steward, not by Node');
    assert.equal(nodeChildren.size, 0);
  });
});
