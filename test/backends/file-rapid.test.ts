// Saves that follow each other within chokidar's 50 ms change throttle are not lost: the last
// one is always delivered.

import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { createFileBackend } from '../../src/backends/file.ts';
import { isUpdate, recorder } from '../support/watch-events.ts';
import { backendOptions } from '../support/backend-options.ts';

it('delivers the last of several saves made within a few milliseconds', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'steward-rapid-'));
  const file = join(dir, 'values.yaml');
  const save = (v: string): void => {
    writeFileSync(`${file}.new`, `app:\n  host: ${v}\n`);
    renameSync(`${file}.new`, file);
  };
  save('v0');
  const backend = createFileBackend(backendOptions({ files: [file] }));
  const snapshot = await backend.read(['/app'], new AbortController().signal);
  const stop = new AbortController();
  const r = recorder();
  let deliveries = 0;
  // v3 is saved the moment v2 is delivered: well inside chokidar's window for v2's event (v1
  // may have been saved before the watcher was ready, and then caused no event at all).
  const listener = {
    update: (u: Parameters<typeof r.listener.update>[0]) => {
      r.listener.update(u);
      if (++deliveries === 2) save('v3');
    },
    status: r.listener.status,
  };
  backend.watch(['/app'], snapshot.cursor, listener, stop.signal);
  try {
    save('v1');
    await r.next('v1', (e) => isUpdate(e) && e.update.kind === 'delta' && e.update.set.get('/app/host') === 'v1');
    save('v2');
    await r.next('v2', (e) => isUpdate(e) && e.update.kind === 'delta' && e.update.set.get('/app/host') === 'v2');
    await r.next('v3', (e) => isUpdate(e) && ((e.update.kind === 'delta' && e.update.set.get('/app/host') === 'v3') || (e.update.kind === 'full' && e.update.values.get('/app/host') === 'v3')));
  } finally {
    stop.abort();
    await backend.close();
  }
});
