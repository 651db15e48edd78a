// STEWARD_STATUS_ADDR and STEWARD_METRICS_ADDR: loopback unless the address names a host.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseListenAddress } from '../../src/control/listen-address.ts';
import { ConfigError } from '../../src/core/exit-codes.ts';

describe('endpoint addresses', () => {
  it('bind to loopback without a host, and where told otherwise', () => {
    assert.deepEqual(parseListenAddress('9100', 'X'), { host: '127.0.0.1', port: 9100 });
    assert.deepEqual(parseListenAddress(':9100', 'X'), { host: '127.0.0.1', port: 9100 });
    assert.deepEqual(parseListenAddress('0.0.0.0:9100', 'X'), { host: '0.0.0.0', port: 9100 });
    assert.deepEqual(parseListenAddress('[::1]:9100', 'X'), { host: '::1', port: 9100 });
    assert.equal(parseListenAddress('', 'X'), undefined);
  });

  it('name the variable and the accepted forms when wrong', () => {
    assert.throws(() => parseListenAddress('localhost', 'STEWARD_STATUS_ADDR'), (e: unknown) =>
      e instanceof ConfigError && /^STEWARD_STATUS_ADDR: expected HOST:PORT, :PORT or PORT/.test(e.message));
    assert.throws(() => parseListenAddress('1.2.3.4:70000', 'X'), ConfigError);
  });
});
