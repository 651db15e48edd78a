import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseArtifactName } from '../../src/jobs/artifact-name.ts';
import {
  formatPruneDryRun,
  planRetention,
  type RetentionArtifact,
  type RetentionPlan,
  type RetentionPolicy,
} from '../../src/jobs/retention.ts';
import { ConfigError } from '../../src/core/exit-codes.ts';
import { ARTIFACT_FILES, BACKUP_NAME, CASES, FOREIGN_FILES, type RetentionCase } from './fixtures/retention-cases.ts';

/** A small deterministic generator, so that "shuffled" inputs are the same on every run. */
function randomSource(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const next = randomSource(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** What the backup runner does: list the folder, keep only its own artifacts. */
function artifactsOf(fileNames: readonly string[]): RetentionArtifact[] {
  return fileNames.flatMap((fileName) => {
    const parsed = parseArtifactName(BACKUP_NAME, fileName);
    return parsed === undefined ? [] : [{ fileName, time: parsed.time, sequence: parsed.sequence }];
  });
}

function inRange(c: RetentionCase): (a: RetentionArtifact) => boolean {
  if (c.between === undefined) return () => true;
  const from = Date.parse(c.between[0]);
  const to = Date.parse(c.between[1]);
  return (a) => a.time.getTime() >= from && a.time.getTime() < to;
}

function folderListing(seed: number): string[] {
  return shuffled([...ARTIFACT_FILES, ...FOREIGN_FILES], seed);
}

function summary(plan: RetentionPlan): { keep: [string, string][]; remove: string[] } {
  return {
    keep: plan.keep.map((k) => [k.fileName, k.reasons.join(', ')]),
    remove: plan.remove.map((r) => r.fileName),
  };
}

describe('the retention fixture', () => {
  it('has at least 100 artifacts, all of them steward names for the backup', () => {
    assert.ok(ARTIFACT_FILES.length >= 100, `only ${ARTIFACT_FILES.length} artifacts`);
    assert.equal(new Set(ARTIFACT_FILES).size, ARTIFACT_FILES.length);
    for (const f of ARTIFACT_FILES) assert.notEqual(parseArtifactName(BACKUP_NAME, f), undefined, f);
  });

  it('mixes in files that are not artifacts of the backup', () => {
    for (const f of FOREIGN_FILES) assert.equal(parseArtifactName(BACKUP_NAME, f), undefined, f);
  });
});

describe('planRetention against the hand-written cases', () => {
  for (const [index, c] of CASES.entries()) {
    it(c.title, () => {
      const input = artifactsOf(folderListing(index + 1)).filter(inRange(c));
      const plan = planRetention(input, c.policy, {
        timeZone: c.timeZone,
        lastBackup: c.lastBackup ?? 'succeeded',
      });

      // ARTIFACT_FILES is written newest first, and so are both lists of a plan.
      const present = ARTIFACT_FILES.filter((f) => input.some((a) => a.fileName === f));
      const listed = new Map(c.keep.map(([f, reasons]) => [f, reasons]));
      for (const f of listed.keys()) assert.ok(present.includes(f), `expectation names a missing artifact ${f}`);
      const expectedKeep: [string, string][] =
        c.othersKeptAs === undefined
          ? c.keep.map(([f, reasons]) => [f, reasons])
          : present.map((f) => [f, listed.get(f) ?? c.othersKeptAs ?? '']);
      const kept = new Set(expectedKeep.map(([f]) => f));

      assert.deepEqual(summary(plan), {
        keep: expectedKeep,
        remove: present.filter((f) => !kept.has(f)),
      });
    });
  }
});

describe('planRetention', () => {
  const all = artifactsOf(ARTIFACT_FILES);
  const policy: RetentionPolicy = { last: 2, hourly: 3, daily: 4, weekly: 3, monthly: 6, yearly: 2 };

  it('gives the same plan whatever order the folder was listed in', () => {
    const first = planRetention(artifactsOf(folderListing(11)), policy, { timeZone: 'Europe/Berlin', lastBackup: 'succeeded' });
    for (const seed of [12, 13, 14]) {
      const again = planRetention(artifactsOf(folderListing(seed)), policy, {
        timeZone: 'Europe/Berlin',
        lastBackup: 'succeeded',
      });
      assert.deepEqual(again, first);
    }
  });

  it('never deletes the newest artifact and never loses or invents one', () => {
    const next = randomSource(99);
    const count = () => Math.floor(next() * 4);
    for (let round = 0; round < 200; round++) {
      const p: RetentionPolicy = {
        last: count(),
        hourly: count(),
        daily: count(),
        weekly: count(),
        monthly: count(),
        yearly: count(),
      };
      const input = shuffled(all, round).slice(0, 1 + Math.floor(next() * all.length));
      const plan = planRetention(input, p, { timeZone: round % 2 === 0 ? 'UTC' : 'Europe/Berlin', lastBackup: 'succeeded' });
      const newest = [...input].sort((a, b) => b.time.getTime() - a.time.getTime() || (b.sequence ?? 1) - (a.sequence ?? 1))[0];
      assert.equal(plan.keep[0]?.fileName, newest?.fileName, JSON.stringify(p));
      assert.equal(plan.keep[0]?.reasons[0], 'newest');
      const names = [...plan.keep, ...plan.remove].map((a) => a.fileName).sort();
      assert.deepEqual(names, input.map((a) => a.fileName).sort());
      for (const k of plan.keep) assert.ok(k.reasons.length > 0, k.fileName);
    }
  });

  it('deletes nothing, whatever the policy, when the last backup failed', () => {
    for (const p of [{ last: 1 }, { daily: 1 }, policy]) {
      const plan = planRetention(all, p, { timeZone: 'UTC', lastBackup: 'failed' });
      assert.deepEqual(plan.remove, []);
      assert.equal(plan.keep.length, all.length);
    }
  });

  it('refuses to plan when the outcome of the last backup is not stated', () => {
    assert.throws(
      () => planRetention(all, { last: 1 }, { timeZone: 'UTC' } as never),
      (e: unknown) => e instanceof TypeError && /lastBackup/.test(e.message) && /succeeded, failed/.test(e.message),
    );
  });

  it('plans nothing for an empty folder', () => {
    assert.deepEqual(planRetention([], { last: 1 }, { lastBackup: 'succeeded' }), { keep: [], remove: [] });
  });

  it('buckets in UTC when no time zone is given', () => {
    const plan = planRetention(
      artifactsOf(['db-20270103T235959Z.sql.gz', 'db-20270103T225959Z.sql.gz']),
      { daily: 2 },
      { lastBackup: 'succeeded' },
    );
    assert.deepEqual(summary(plan).keep, [
      ['db-20270103T235959Z.sql.gz', 'newest, daily 2027-01-03'],
      ['db-20270103T225959Z.sql.gz', 'oldest (daily not filled)'],
    ]);
  });

  it('orders two artifacts of the same second by their suffix, not by their names', () => {
    const input = artifactsOf(['db-20270104T101530Z.sql.gz', 'db-20270104T101530Z-2.sql.gz', 'db-20270104T101530Z-10.sql.gz']);
    for (const order of [input, [...input].reverse()]) {
      const plan = planRetention(order, { last: 1 }, { lastBackup: 'succeeded' });
      assert.deepEqual(summary(plan), {
        keep: [['db-20270104T101530Z-10.sql.gz', 'newest, last']],
        remove: ['db-20270104T101530Z-2.sql.gz', 'db-20270104T101530Z.sql.gz'],
      });
    }
  });

  it('breaks a tie of time and suffix by file name, whatever the input order', () => {
    // Same second, no suffix on either: only possible when the artifact kind changed (file vs .tar).
    const input = artifactsOf(['db-20270104T101530Z.sql.gz', 'db-20270104T101530Z.tar']);
    for (const order of [input, [...input].reverse()]) {
      const plan = planRetention(order, { last: 1 }, { lastBackup: 'succeeded' });
      assert.deepEqual(summary(plan).remove, ['db-20270104T101530Z.sql.gz']);
    }
  });

  it('rejects an invalid policy, naming the field', () => {
    assert.throws(
      () => planRetention(all, { daily: -1 }, { lastBackup: 'succeeded' }),
      (e: unknown) => e instanceof ConfigError && /daily/.test(e.message),
    );
  });

  it('rejects an unknown time zone, naming it', () => {
    assert.throws(
      () => planRetention(all, { daily: 1 }, { timeZone: 'Europe/Berln', lastBackup: 'succeeded' }),
      (e: unknown) => e instanceof ConfigError && /Europe\/Berln/.test(e.message),
    );
  });

  it('rejects the same file twice and invalid times', () => {
    const one = artifactsOf(['db-20270104T101530Z.sql.gz']);
    assert.throws(() => planRetention([...one, ...one], { last: 1 }, { lastBackup: 'succeeded' }), /twice/);
    assert.throws(
      () => planRetention([{ fileName: 'db-x', time: new Date(Number.NaN) }], { last: 1 }, { lastBackup: 'succeeded' }),
      /db-x/,
    );
  });

  it('does not change its input', () => {
    const input = artifactsOf(folderListing(5));
    const before = input.map((a) => a.fileName);
    planRetention(input, policy, { lastBackup: 'succeeded' });
    assert.deepEqual(
      input.map((a) => a.fileName),
      before,
    );
  });
});

describe('formatPruneDryRun', () => {
  it('prints one line per artifact, newest first, KEEP with reasons or DELETE', () => {
    const input = artifactsOf([
      'db-20201228T120000Z.sql.gz',
      'db-20210104T120000Z.sql.gz',
      'db-20201231T120000Z.sql.gz',
      'db-20210103T120000Z',
    ]);
    const plan = planRetention(input, { weekly: 3 }, { timeZone: 'UTC', lastBackup: 'succeeded' });
    assert.deepEqual(formatPruneDryRun(plan), [
      'KEEP    db-20210104T120000Z.sql.gz  newest, weekly 2021-W01',
      'KEEP    db-20210103T120000Z         weekly 2020-W53',
      'DELETE  db-20201231T120000Z.sql.gz',
      'KEEP    db-20201228T120000Z.sql.gz  oldest (weekly not filled)',
    ]);
  });

  it('prints nothing for an empty plan', () => {
    assert.deepEqual(formatPruneDryRun({ keep: [], remove: [] }), []);
  });
});
