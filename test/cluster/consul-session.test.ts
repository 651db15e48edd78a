// The Consul coordinator's session: renewals and lastRenewalSentAt, when `lost` resolves
// (renewal answered 404, or no renewal succeeded for a whole TTL), fail-over to another agent,
// and deadlines: a paused agent (requests held, no answer) must not hang any call.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { systemClock } from '../../src/core/clock.ts';
import type { Coordinator, Session } from '../../src/cluster/coordinator.ts';
import { createConsulCoordinator, type ConsulCoordinatorTuning } from '../../src/cluster/consul-coordinator.ts';
import { startConsulDouble, type ConsulDouble, type RecordedRequest } from '../support/consul/double.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';
import { storeOptions } from '../support/backend-options.ts';
import { until } from '../support/until.ts';

const TTL_MS = 600;
const REQUEST_TIMEOUT_MS = 300;
const clock = systemClock();

let consul: ConsulDouble;
let proxy: TcpProxy | undefined;
let stop: AbortController;
const coordinators: Coordinator[] = [];

function coordinator(nodes: string[], tuning: ConsulCoordinatorTuning = {}): Coordinator {
  const c = createConsulCoordinator(
    storeOptions({ nodes }),
    clock,
    { lockDelayMs: 200, waitMs: 5_000, requestTimeoutMs: REQUEST_TIMEOUT_MS, backoff: { initialMs: 50, maxMs: 200 }, ...tuning },
  );
  coordinators.push(c);
  return c;
}

function open(c: Coordinator, instanceId: string, ttlMs = TTL_MS): Promise<Session> {
  return c.openSession({ ttlMs, instanceId }, stop.signal);
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** How long `promise` takes to settle, and how. */
async function timed(promise: Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const start = clock.monotonic();
  try {
    await promise;
    return { ms: clock.monotonic() - start, error: undefined };
  } catch (error) {
    return { ms: clock.monotonic() - start, error };
  }
}

const renewalOf = (id: string) => (r: RecordedRequest): boolean => r.path === `/v1/session/renew/${id}`;

beforeEach(async () => {
  stop = new AbortController();
  consul = await startConsulDouble({ sessionTtlMin: '100ms', blockingJitter: false });
});

afterEach(async () => {
  stop.abort();
  consul.resume();
  await proxy?.resume();
  for (const c of coordinators.splice(0)) await c.close();
  await proxy?.close();
  proxy = undefined;
  await consul.stop();
});

describe('Consul coordinator: session', () => {
  it('counts the creation as the first renewal and renews every TTL/3, advancing lastRenewalSentAt', async () => {
    const before = clock.monotonic();
    const s = await open(coordinator([consul.address]), 'a');
    const created = s.lastRenewalSentAt();
    assert.ok(created >= before && created <= clock.monotonic());
    assert.ok(consul.session(s.id) !== undefined);

    await consul.waitForRequest(renewalOf(s.id));
    await until('the first renewal', () => s.lastRenewalSentAt() > created);
    const first = s.lastRenewalSentAt();
    assert.ok(first - created >= TTL_MS / 3 - 5, `renewed ${Math.round(first - created)} ms after creation`);
    await until('the second renewal', () => s.lastRenewalSentAt() > first);
    const gap = s.lastRenewalSentAt() - first;
    assert.ok(gap >= TTL_MS / 3 - 5 && gap < TTL_MS / 2, `renewed ${Math.round(gap)} ms after the previous one`);
  });

  it('keeps lastRenewalSentAt while renewals fail and reports the loss one TTL after the last success', async () => {
    const s = await open(coordinator([consul.address]), 'a');
    await until('a renewal', () => s.lastRenewalSentAt() > 0 && consul.requests(renewalOf(s.id)).length > 0);
    const created = s.lastRenewalSentAt();
    await until('a successful renewal', () => s.lastRenewalSentAt() > created);

    consul.pause();
    const last = s.lastRenewalSentAt();
    const mark = consul.requests().at(-1)?.seq ?? -1;
    const reason = await within(s.lost, TTL_MS + 500, 'the loss');
    const lostAt = clock.monotonic();
    assert.match(reason, /no renewal of Consul session .* succeeded for its TTL of 600 ms; last error: .*no answer within 200 ms/);
    assert.equal(s.lastRenewalSentAt(), last, 'unanswered renewals do not count');
    assert.ok(lostAt - last >= TTL_MS - 1 && lostAt - last < TTL_MS + 100, `lost ${Math.round(lostAt - last)} ms after the last renewal`);
    assert.ok(consul.requests((r) => r.seq > mark && renewalOf(s.id)(r)).length >= 2, 'renewals were retried meanwhile');

    consul.resume();
    assert.equal(s.lastRenewalSentAt(), last, 'held answers that arrive later do not count either');
  });

  it('reports the loss when a renewal answers 404 (session invalidated)', async () => {
    const s = await open(coordinator([consul.address]), 'a');
    const expiredAt = clock.monotonic();
    consul.expireSession(s.id);
    const reason = await within(s.lost, TTL_MS, 'the loss');
    assert.match(reason, /Consul no longer knows session .* \(renewal answered 404\)/);
    assert.ok(clock.monotonic() - expiredAt <= TTL_MS / 3 + 100);
    await assert.rejects(s.register('steward/m/a', 'a'), /lost: Consul no longer knows/);
  });

  it('outlives the agent it was created on by renewing through the next one', async () => {
    proxy = await startTcpProxy(consul.port);
    const s = await open(coordinator([proxy.address, consul.address]), 'a');
    const created = s.lastRenewalSentAt();
    await proxy.pause('hang');
    // Two TTLs without a working first agent: the renewals went to the second one.
    await until('renewals through the second agent', () => s.lastRenewalSentAt() > created + TTL_MS);
    assert.ok(consul.session(s.id) !== undefined);
    assert.equal(await Promise.race([s.lost, Promise.resolve('alive')]), 'alive');
  });

  it('close() destroys the session and resolves lost', async () => {
    const c = coordinator([consul.address]);
    const s = await open(c, 'a');
    await s.close();
    assert.equal(consul.session(s.id), undefined);
    assert.equal(await s.lost, 'the session was closed');
    await s.close();
    await assert.rejects(s.register('steward/m/a', 'a'), /was closed/);
  });

  it('passes Consul’s refusal of a TTL on, naming the instance', async () => {
    await assert.rejects(open(coordinator([consul.address]), 'a', 50), /cannot create a Consul session for a: .*500 Invalid Session TTL '50000000', must be between \[100ms=24h0m0s\]/);
    await assert.rejects(open(coordinator([consul.address]), 'a', 0), /Consul session TTL: 0 ms/);
  });

  it('a paused agent makes every call settle within its deadline', async () => {
    const c = coordinator([consul.address]);
    const s = await open(c, 'a');
    assert.equal(await s.register('steward/m/a', 'a'), true);
    const elected = s.campaign('steward/leader', 'a', stop.signal).elected;
    await elected;
    const leaders: (string | undefined)[] = [];
    s.observe('steward/leader', (l) => leaders.push(l), stop.signal);
    await until('the first observation', () => leaders.length === 1);

    consul.pause();
    const bound = REQUEST_TIMEOUT_MS + 200;
    const [opening, registering, updating, resigning] = await Promise.all([
      timed(open(c, 'b')),
      timed(s.register('steward/m/b', 'b')),
      timed(s.update('steward/m/a', 'a2')),
      timed(s.resign('steward/leader')),
    ]);
    for (const [what, outcome] of Object.entries({ opening, registering, updating, resigning })) {
      assert.match(String(outcome.error), /no answer within 300 ms/, what);
      assert.ok(outcome.ms < bound, `${what} took ${Math.round(outcome.ms)} ms`);
    }
    const campaigning = await timed(s.campaign('steward/other', 'a', stop.signal).elected);
    assert.match(String(campaigning.error), /lost: no renewal/);
    assert.ok(campaigning.ms < TTL_MS + 200, `the campaign took ${Math.round(campaigning.ms)} ms to reject`);
    const closing = await timed(s.close());
    assert.equal(closing.error, undefined);
    assert.ok(closing.ms < 2 * REQUEST_TIMEOUT_MS + 200, `close took ${Math.round(closing.ms)} ms`);
    assert.deepEqual(leaders, ['a'], 'observe reports nothing it does not know');
  });
});
