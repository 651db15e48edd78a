// --prune-dry-run from the command line: prints what retention would keep and delete, touches
// nothing, starts no app.

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { runSteward } from '../support/steward.ts';

it('--prune-dry-run lists kept and deleted artifacts with their rules, and deletes nothing', async () => {
  const dest = mkdtempSync(join(tmpdir(), 'steward-prune-'));
  const names = ['db-20261125T100000Z.sql.gz', 'db-20261125T090000Z.sql.gz', 'db-20261124T230000Z.sql.gz', 'db-20261123T100000Z.sql.gz', 'notes.txt'];
  for (const n of names) writeFileSync(join(dest, n), 'x');
  const r = await runSteward(['--prune-dry-run'], {
    pid1: false,
    env: {
      STEWARD_BACKUP_DB_COMMAND: 'true',
      STEWARD_BACKUP_DB_SCHEDULE: '0 * * * *',
      STEWARD_BACKUP_DB_DEST: dest,
      STEWARD_BACKUP_DB_EXTENSION: 'sql.gz',
      STEWARD_BACKUP_DB_KEEP_DAILY: '2',
    },
  });
  assert.equal(r.code, 0, r.stderr);
  const out = r.stdout.join('\n');
  assert.match(out, /KEEP\s+db-20261125T100000Z\.sql\.gz\s+newest.*daily 2026-11-25/);
  assert.match(out, /DELETE\s+db-20261125T090000Z\.sql\.gz/);
  assert.match(out, /KEEP\s+db-20261124T230000Z\.sql\.gz\s+daily 2026-11-24/);
  assert.match(out, /DELETE\s+db-20261123T100000Z\.sql\.gz/);
  assert.deepEqual(readdirSync(dest).sort(), [...names].sort());
});
