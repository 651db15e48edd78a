// Which backup artifacts to keep and which to delete, following restic's `forget` policy:
//
// - Artifacts are walked newest first (completion time, then the same-second suffix, then the file
//   name, so that the plan never depends on the order of a folder listing).
// - `last N` keeps the N newest.
// - `hourly|daily|weekly|monthly|yearly N` keeps the first artifact met in each bucket (so the
//   newest of the bucket) until N buckets were kept; buckets without artifacts cost nothing.
// - Rules are ORed, and every rule that keeps an artifact is named in its reasons.
// - A period rule that has not kept N buckets by the time it reaches the oldest artifact keeps the
//   oldest too, so that the longest history survives ("oldest (daily not filled)"). As in restic
//   (since 0.14) this only matters, and is only said, when the oldest shares its bucket with a newer
//   kept artifact; alone in its bucket it is an ordinary keep of that bucket.
// - An empty policy (every count zero or absent) keeps everything, like restic refusing to forget
//   with an empty policy. The newest artifact is always kept and marked `newest`.
// - After a failed backup the caller must say so (`lastBackup: 'failed'`) and nothing is deleted:
//   the newest artifact may then be the only good one, and the rules would happily count it.
//
// Buckets use the wall-clock fields of the completion time in the plan's IANA time zone, as restic
// uses the fields of each snapshot's recorded local time. Around a DST change that means:
// - clocks falling back: the repeated local hour (02:xx twice in Berlin) is ONE hourly bucket, so
//   an hourly rule keeps one artifact for those two real hours;
// - clocks springing forward: the skipped local hour has no bucket; the hours on either side are
//   adjacent buckets and nothing is lost, since only buckets holding artifacts are counted.
// Days, weeks (ISO 8601, Monday to Sunday, in the ISO week-year), months and years follow the local
// calendar date in the same zone.
//
// Not offered: restic's keep-within*, keep-tag and "unlimited" counts (a large N does the same).

import { ConfigError } from '../core/exit-codes.ts';
import { isoWeek, wallClock, type WallTime } from './calendar.ts';

export const RETENTION_RULES = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;
export type RetentionRule = (typeof RETENTION_RULES)[number];

/** How many to keep per rule; an absent rule is zero. */
export type RetentionPolicy = { readonly [Rule in RetentionRule]?: number };

export interface RetentionArtifact {
  readonly fileName: string;
  readonly time: Date;
  /** The same-second suffix from `parseArtifactName` (1 when absent); orders artifacts of one second. */
  readonly sequence?: number;
}

export type LastBackupOutcome = 'succeeded' | 'failed';
const OUTCOMES: readonly LastBackupOutcome[] = ['succeeded', 'failed'];

export interface RetentionOptions {
  /** IANA zone the period buckets are cut in; UTC when absent. */
  readonly timeZone?: string;
  /** Required: after a failed backup nothing is deleted. */
  readonly lastBackup: LastBackupOutcome;
}

export interface KeptArtifact {
  readonly fileName: string;
  readonly time: Date;
  readonly sequence: number;
  /** e.g. `newest`, `last`, `daily 2026-11-25`, `weekly 2026-W48`, `oldest (hourly not filled)`. */
  readonly reasons: readonly string[];
}

export interface RemovedArtifact {
  readonly fileName: string;
  readonly time: Date;
  readonly sequence: number;
}

/** Both lists newest first. */
export interface RetentionPlan {
  readonly keep: readonly KeptArtifact[];
  readonly remove: readonly RemovedArtifact[];
}

type PeriodRule = Exclude<RetentionRule, 'last'>;
const PERIOD_RULES: readonly PeriodRule[] = ['hourly', 'daily', 'weekly', 'monthly', 'yearly'];

const COUNT_HINT = 'expected a whole number of 0 or more';

/**
 * Checks a policy read from configuration (`source` names it in errors, e.g. `backup.db.keep`).
 * Absent rules stay absent; an absent policy is the empty policy.
 */
export function validateRetentionPolicy(input: unknown, source: string): RetentionPolicy {
  if (input === undefined) return {};
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ConfigError(
      `${source}: invalid value ${shown(input)} (expected a set of rules: ${RETENTION_RULES.join(', ')})`,
    );
  }
  const policy: Partial<Record<RetentionRule, number>> = {};
  for (const [key, value] of Object.entries(input)) {
    if (!(RETENTION_RULES as readonly string[]).includes(key)) {
      throw new ConfigError(`${source}.${key}: unknown rule (expected one of: ${RETENTION_RULES.join(', ')})`);
    }
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw new ConfigError(`${source}.${key}: invalid value ${shown(value)} (${COUNT_HINT})`);
    }
    policy[key as RetentionRule] = value;
  }
  return policy;
}

function shown(value: unknown): string {
  if (typeof value === 'string') return `${JSON.stringify(value)} (a string)`;
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (Array.isArray(value)) return 'a list';
  return typeof value;
}

export function isEmptyRetentionPolicy(policy: RetentionPolicy): boolean {
  return RETENTION_RULES.every((rule) => (policy[rule] ?? 0) === 0);
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

function bucketOf(rule: PeriodRule, t: WallTime): string {
  const year = String(t.year).padStart(4, '0');
  switch (rule) {
    case 'hourly':
      return `${year}-${pad2(t.month)}-${pad2(t.day)}T${pad2(t.hour)}`;
    case 'daily':
      return `${year}-${pad2(t.month)}-${pad2(t.day)}`;
    case 'weekly': {
      const { weekYear, week } = isoWeek(t.year, t.month, t.day);
      return `${String(weekYear).padStart(4, '0')}-W${pad2(week)}`;
    }
    case 'monthly':
      return `${year}-${pad2(t.month)}`;
    case 'yearly':
      return year;
  }
}

interface Entry {
  readonly fileName: string;
  readonly time: Date;
  readonly sequence: number;
}

function newestFirst(a: Entry, b: Entry): number {
  return (
    b.time.getTime() - a.time.getTime() ||
    b.sequence - a.sequence ||
    (a.fileName < b.fileName ? 1 : a.fileName > b.fileName ? -1 : 0)
  );
}

function entriesOf(artifacts: readonly RetentionArtifact[]): Entry[] {
  const seen = new Set<string>();
  const entries: Entry[] = [];
  for (const a of artifacts) {
    if (seen.has(a.fileName)) throw new RangeError(`retention: artifact ${a.fileName} was listed twice`);
    seen.add(a.fileName);
    if (!(a.time instanceof Date) || Number.isNaN(a.time.getTime())) {
      throw new RangeError(`retention: artifact ${a.fileName} has no valid completion time`);
    }
    const sequence = a.sequence ?? 1;
    if (!Number.isSafeInteger(sequence) || sequence < 1) {
      throw new RangeError(`retention: artifact ${a.fileName} has an invalid sequence ${sequence}`);
    }
    entries.push({ fileName: a.fileName, time: a.time, sequence });
  }
  return entries.sort(newestFirst);
}

/** Decides, without touching anything, which artifacts of one backup to keep and which to delete. */
export function planRetention(
  artifacts: readonly RetentionArtifact[],
  policy: RetentionPolicy,
  options: RetentionOptions,
): RetentionPlan {
  // Checked at run time too: a caller that forgets to say how the last backup went must not get a
  // plan that deletes.
  if (!OUTCOMES.includes(options?.lastBackup)) {
    throw new TypeError(
      `retention: options.lastBackup must say how the last backup went (expected one of: ${OUTCOMES.join(', ')})`,
    );
  }
  const counts = validateRetentionPolicy(policy, 'retention policy');
  const localTime = wallClock(options.timeZone ?? 'UTC');
  const entries = entriesOf(artifacts);
  const empty = isEmptyRetentionPolicy(counts);

  let lastLeft = counts.last ?? 0;
  const left = new Map<PeriodRule, number>(PERIOD_RULES.map((rule) => [rule, counts[rule] ?? 0]));
  const keptBuckets = new Map<PeriodRule, Set<string>>(PERIOD_RULES.map((rule) => [rule, new Set<string>()]));

  const keep: KeptArtifact[] = [];
  const remove: RemovedArtifact[] = [];
  for (const [index, entry] of entries.entries()) {
    const reasons: string[] = [];
    if (index === 0) reasons.push('newest');
    if (empty) {
      reasons.push('empty policy');
    } else {
      if (lastLeft > 0) {
        lastLeft--;
        reasons.push('last');
      }
      const isOldest = index === entries.length - 1;
      const wall = localTime(entry.time);
      for (const rule of PERIOD_RULES) {
        const remaining = left.get(rule) ?? 0;
        if (remaining === 0) continue;
        const bucket = bucketOf(rule, wall);
        const buckets = keptBuckets.get(rule) ?? new Set<string>();
        // restic asks "differs from the previous kept bucket?"; a set gives the same answer
        // wherever clocks fall back by whole hours (the repeated hour stays contiguous when
        // walking newest first). Where a zone falls back by part of an hour (02:30 -> 01:30),
        // wall-clock hours interleave and restic's test could keep one hour twice; a set cannot.
        if (!buckets.has(bucket)) {
          buckets.add(bucket);
          left.set(rule, remaining - 1);
          reasons.push(`${rule} ${bucket}`);
        } else if (isOldest) {
          left.set(rule, remaining - 1);
          reasons.push(`oldest (${rule} not filled)`);
        }
      }
    }
    if (reasons.length === 0 && options.lastBackup === 'failed') reasons.push('last backup failed');
    if (reasons.length > 0) keep.push({ ...entry, reasons });
    else remove.push({ ...entry });
  }
  return { keep, remove };
}

/**
 * Lines for `--prune-dry-run`: one per artifact, newest first, `KEEP` with its reasons or `DELETE`.
 */
export function formatPruneDryRun(plan: RetentionPlan): string[] {
  const reasonsOf = new Map(plan.keep.map((k) => [k.fileName, k.reasons]));
  const rows = [...plan.keep, ...plan.remove].sort(newestFirst);
  const width = Math.max(0, ...rows.map((r) => r.fileName.length));
  return rows.map((row) => {
    const reasons = reasonsOf.get(row.fileName);
    return reasons === undefined
      ? `DELETE  ${row.fileName}`
      : `KEEP    ${row.fileName.padEnd(width)}  ${reasons.join(', ')}`;
  });
}
