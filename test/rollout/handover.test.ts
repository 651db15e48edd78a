// Zero-downtime handover: with start-first, an app sharing its port (SO_REUSEPORT) and saying
// READY=1 is replaced while a client loop asks it for pages, and no request fails. The same loop
// against stop-first sees failures, which shows the test can fail. A closed listener resets
// the connections still queued on it unless net.ipv4.tcp_migrate_req=1, so the run happens in a
// network namespace of its own (loopback up, that sysctl set): see fixtures/handover-run.ts.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { NODE } from '../support/steward.ts';

const RUN = join(import.meta.dirname, 'fixtures', 'handover-run.ts');

interface Outcome {
  readonly order: string;
  readonly requests: number;
  readonly failures: number;
  readonly errors: readonly string[];
  readonly served: readonly string[];
  readonly handoverMs: number;
}

function inNamespace(order: string): Promise<Outcome> {
  const script = `ip link set lo up && sysctl -qw net.ipv4.tcp_migrate_req=1 && exec "$0" "$1" "$2"`;
  return new Promise((resolve, reject) => {
    execFile('unshare', ['--net', 'sh', '-c', script, NODE, RUN, order], { timeout: 120_000 }, (error, stdout, stderr) => {
      if (error !== null) return reject(new Error(`${error.message}\n${stderr}`));
      const line = stdout.trim().split('\n').at(-1) ?? '';
      resolve(JSON.parse(line) as Outcome);
    });
  });
}

describe('start-first handover', () => {
  it('start-first: a client loop sees zero failed requests while the app is replaced', async () => {
    const outcome = await inNamespace('start-first');
    assert.ok(outcome.requests > 20, `the loop ran: ${JSON.stringify(outcome)}`);
    assert.equal(outcome.failures, 0, JSON.stringify(outcome));
    // During the overlap both processes accept (SO_REUSEPORT spreads connections), so v1 and v2 may alternate; it ends on v2.
    assert.equal(outcome.served[0], 'v1');
    assert.equal(outcome.served.at(-1), 'v2');
  });

  it('stop-first: the same loop sees failed requests (the test can fail)', async () => {
    const outcome = await inNamespace('stop-first');
    assert.ok(outcome.failures > 0, JSON.stringify(outcome));
    assert.equal(outcome.served.at(-1), 'v2');
  });
});
