// A check_cmd that rejected a file is not run again on the same content: the resource waits for
// content that differs (a change of a key), and then check_cmd runs again.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { CompiledTemplate } from '../../src/render/index.ts';
import { KeyCache } from '../../src/resources/key-cache.ts';
import { processResource, type PipelineContext } from '../../src/resources/pipeline.ts';
import { recordingLogger } from '../support/logs.ts';
import { testResource } from '../support/test-resource.ts';

function template(text: () => string): CompiledTemplate {
  return { render: () => text(), calls: undefined } as unknown as CompiledTemplate;
}

describe('a rejected check_cmd', () => {
  it('is not run again on the same content, and runs again on new content', async () => {
    const d = mkdtempSync(join(tmpdir(), 'steward-check-'));
    const runs = join(d, 'runs');
    const r = testResource('app.conf', { dest: join(d, 'app.conf'), checkCmd: `echo run >> ${runs}; grep -q good {{.src}}` });
    const ctx: PipelineContext = {
      cache: new KeyCache(),
      covers: () => false,
      prefixIndexed: true,
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
      extras: {},
      commandTimeoutMs: 5000,
      keepStageFile: false,
      syncOnly: false,
      noop: false,
      log: recordingLogger(),
      // This test's template is a stand-in, rendered here: never in the render thread.
      renderer: {
        worker: { running: false, run: () => assert.fail('rendered in the thread'), close: async () => {} },
        placement: { inline: () => true, cutOff: () => assert.fail('cut off') },
        maxBytes: 1024 * 1024,
        signal: new AbortController().signal,
      },
    };
    let content = 'bad\n';
    const t = template(() => content);
    const first = await processResource(r, t, ctx);
    assert.equal(first.kind, 'check-failed');
    assert.equal(readFileSync(runs, 'utf8'), 'run\n');
    const digest = first.kind === 'check-failed' ? first.digest : '';

    const again = await processResource(r, t, { ...ctx, rejectedDigest: digest });
    assert.deepEqual({ kind: again.kind, repeated: again.kind === 'check-failed' ? again.repeated : undefined }, { kind: 'check-failed', repeated: true });
    assert.equal(readFileSync(runs, 'utf8'), 'run\n', 'check_cmd did not run again');
    assert.ok(!existsSync(r.dest), 'nothing was installed');

    content = 'good\n';
    const changed = await processResource(r, t, { ...ctx, rejectedDigest: digest });
    assert.equal(changed.kind, 'written');
    assert.equal(readFileSync(runs, 'utf8'), 'run\nrun\n');
    assert.equal(readFileSync(r.dest, 'utf8'), 'good\n');
  });
});
