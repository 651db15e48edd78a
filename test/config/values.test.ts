import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBoolean, parseDuration, parsePositiveDuration, parseSignal, parseSignalRewrite, parseSize } from '../../src/config/values.ts';
import { ConfigError } from '../../src/core/exit-codes.ts';

describe('durations as in Go and consul-template', () => {
  const cases: [string, number][] = [
    ['500ms', 500],
    ['10s', 10_000],
    ['1m30s', 90_000],
    ['1h', 3_600_000],
    ['2h45m', 9_900_000],
    ['1.5s', 1500],
    ['.5s', 500],
    ['250us', 0.25],
    ['0', 0],
    ['15', 15_000],
    ['2.5', 2500],
  ];
  for (const [text, ms] of cases) it(`${text} is ${ms}ms`, () => assert.equal(parseDuration(text, 'X'), ms));
  it('refuses durations longer than a timer can wait', () => {
    assert.throws(() => parseDuration('600h', 'STEWARD_STOP_TIMEOUT'), /STEWARD_STOP_TIMEOUT: duration "600h" is too long \(at most 24 days\)/);
  });
  for (const bad of ['', 'abc', '10 s', '-1s', '1d', 's', '1s2']) {
    it(`rejects ${JSON.stringify(bad)} naming the source`, () => {
      assert.throws(() => parseDuration(bad, 'STEWARD_STOP_TIMEOUT'), (e: unknown) => e instanceof ConfigError && /^STEWARD_STOP_TIMEOUT: invalid duration/.test(e.message));
    });
  }
});

describe('signals and rewrites', () => {
  it('accepts names with and without SIG, any case, and numbers', () => {
    assert.equal(parseSignal('TERM', 'X'), 'SIGTERM');
    assert.equal(parseSignal('sigquit', 'X'), 'SIGQUIT');
    assert.equal(parseSignal('10', 'X'), 'SIGUSR1');
    assert.throws(() => parseSignal('SIGNOPE', 'X'), /unknown signal "SIGNOPE"/);
  });
  it('parses a rewrite map with drops', () => {
    const m = parseSignalRewrite('TERM:QUIT, USR1:0', 'X');
    assert.equal(m.get('SIGTERM'), 'SIGQUIT');
    assert.equal(m.get('SIGUSR1'), null);
    assert.throws(() => parseSignalRewrite('TERM', 'STEWARD_SIGNAL_REWRITE'), /STEWARD_SIGNAL_REWRITE: invalid rewrite "TERM"/);
  });
});

describe('booleans', () => {
  it('takes the usual words', () => {
    for (const t of ['1', 'true', 'TRUE', 'yes', 'on']) assert.equal(parseBoolean(t, 'X'), true);
    for (const f of ['0', 'false', 'no', 'off']) assert.equal(parseBoolean(f, 'X'), false);
    assert.throws(() => parseBoolean('maybe', 'STEWARD_SIGNAL_GROUP'), /STEWARD_SIGNAL_GROUP: invalid boolean "maybe" \(expected true or false\)/);
  });
});

describe('render limits (STEWARD_RENDER_MAX_BYTES, STEWARD_RENDER_TIMEOUT)', () => {
  it('takes sizes in bytes or with KB, MB, GB (units of 1024)', () => {
    assert.equal(parseSize('65536', 'X'), 65536);
    assert.equal(parseSize('1KB', 'X'), 1024);
    assert.equal(parseSize('64MB', 'X'), 64 * 1024 * 1024);
    assert.equal(parseSize('64MiB', 'X'), 64 * 1024 * 1024);
    assert.equal(parseSize('1g', 'X'), 1024 ** 3);
  });

  it('refuses a size of 0 or one it cannot read, naming the setting', () => {
    for (const raw of ['0', '-1', '1.5MB', '12 parsecs', '']) {
      assert.throws(() => parseSize(raw, 'STEWARD_RENDER_MAX_BYTES'), (e: unknown) => e instanceof ConfigError && e.message.startsWith('STEWARD_RENDER_MAX_BYTES:'));
    }
  });

  it('refuses a time limit of 0', () => {
    assert.equal(parsePositiveDuration('10s', 'X'), 10_000);
    assert.throws(() => parsePositiveDuration('0s', 'STEWARD_RENDER_TIMEOUT'), ConfigError);
  });
});
