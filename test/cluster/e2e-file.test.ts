// Election end to end on a shared directory (STEWARD_LOCK_DIR), the embedded default.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'node:test';
import { electionScenarios, TTL_MS } from './e2e-scenarios.ts';

describe('election end to end (shared directory)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'steward-locks-'));
  electionScenarios('file', () => ({
    env: (_id, election) => ({ STEWARD_ELECTION: election, STEWARD_LOCK_DIR: dir, STEWARD_ELECTION_TTL: `${TTL_MS}ms` }),
    failoverBoundMs: TTL_MS + 2000,
  }));
});
