// Rollouts over a shared directory: the template backend is a YAML file, the lock lives in
// STEWARD_LOCK_DIR.

import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'node:test';
import { rolloutScenarios } from './scenarios.ts';

describe('rollout (shared directory)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'steward-rollout-file-'));
  const locks = join(dir, 'locks');
  const values = join(dir, 'values.yaml');
  rolloutScenarios('file', () => ({
    env: () => ({ CONFD_BACKEND: 'file', CONFD_FILE: values, STEWARD_LOCK_DIR: locks, STEWARD_ELECTION_BACKEND: 'file', STEWARD_ELECTION_TTL: '2s' }),
    put: async (value) => {
      writeFileSync(`${values}.new`, `app:\n  config: ${value}\n`);
      renameSync(`${values}.new`, values);
    },
    loseLock: async () => {
      const held = readdirSync(locks).filter((name) => name.includes('slot-0'));
      if (held.length === 0) throw new Error(`no rollout lock in ${locks}: ${readdirSync(locks).join(', ')}`);
      for (const name of held) rmSync(join(locks, name), { recursive: true, force: true });
    },
  }));
  writeFileSync(values, 'app:\n  config: v0\n');
  mkdirSync(locks);
});
