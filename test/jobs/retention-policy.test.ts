import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isEmptyRetentionPolicy, RETENTION_RULES, validateRetentionPolicy } from '../../src/jobs/retention.ts';
import { ConfigError } from '../../src/core/exit-codes.ts';

function refusal(pattern: RegExp): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof ConfigError, String(e));
    assert.match(e.message, pattern);
    return true;
  };
}

describe('validateRetentionPolicy', () => {
  it('accepts non-negative integers for the six rules', () => {
    const policy = { last: 3, hourly: 0, daily: 7, weekly: 5, monthly: 12, yearly: 75 };
    assert.deepEqual(validateRetentionPolicy(policy, 'backup.db.keep'), policy);
  });

  it('treats a missing policy or missing rules as zero', () => {
    assert.deepEqual(validateRetentionPolicy(undefined, 'keep'), {});
    assert.deepEqual(validateRetentionPolicy({ daily: 7, weekly: undefined }, 'keep'), { daily: 7 });
  });

  it('names the field and what it accepts', () => {
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '7', null, true, 2 ** 53]) {
      assert.throws(
        () => validateRetentionPolicy({ weekly: bad }, 'backup.db.keep'),
        refusal(/^backup\.db\.keep\.weekly: invalid value .* \(expected a whole number of 0 or more\)$/),
        String(bad),
      );
    }
  });

  it('refuses an unknown rule, listing the known ones', () => {
    assert.throws(
      () => validateRetentionPolicy({ dayly: 7 }, 'backup.db.keep'),
      refusal(/^backup\.db\.keep\.dayly: unknown rule \(expected one of: last, hourly, daily, weekly, monthly, yearly\)$/),
    );
    // restic's keep-within and keep-tag are not offered.
    assert.throws(() => validateRetentionPolicy({ within: 7 }, 'keep'), refusal(/keep\.within: unknown rule/));
  });

  it('refuses something that is not a set of rules', () => {
    for (const bad of [7, 'daily=7', [7], null]) {
      assert.throws(() => validateRetentionPolicy(bad, 'backup.db.keep'), refusal(/^backup\.db\.keep: /), String(bad));
    }
  });

  it('lists the rules in the order reasons are given', () => {
    assert.deepEqual(RETENTION_RULES, ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly']);
  });
});

describe('isEmptyRetentionPolicy', () => {
  it('is true when no rule keeps anything', () => {
    assert.equal(isEmptyRetentionPolicy({}), true);
    assert.equal(isEmptyRetentionPolicy({ last: 0, yearly: 0 }), true);
    assert.equal(isEmptyRetentionPolicy({ last: 0, yearly: 1 }), false);
  });
});
