// The registration part: registers the app as a service once it runs, passes or fails the
// registration's TTL check from the app's health (health.changed on the bus, with the check's
// output) at once on a change and every half TTL otherwise, and, first thing in the stop
// sequence, deregisters and waits STEWARD_DEREGISTER_DELAY so that load balancers drop the
// instance before the app stops taking requests. It is the last part, so that it is the first
// to hear of the stop (parts' beforeAppStop run in reverse order).

import type { Bus } from '../core/bus.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import { errorText } from '../core/error-text.ts';
import type { Logger } from '../core/log.ts';
import type { Part, StopContext } from '../core/part.ts';
import { pause } from '../core/process-control/clock-waits.ts';
import { settlesWithin } from '../core/process-control/deadline.ts';
import type { Registrar } from './registrar.ts';
import type { ServiceSpec, ServiceState } from './service-spec.ts';

export interface RegistrationPartOptions {
  readonly spec: ServiceSpec;
  readonly deregisterDelayMs: number;
  /** Whether a health check decides (else the app counts as passing while it runs). */
  readonly watchesHealth: boolean;
  readonly openRegistrar: () => Promise<Registrar>;
  readonly bus: Bus;
  readonly log: Logger;
  readonly clock: Clock;
}

export interface RegistrationPart extends Part {
  /** `steward --maintenance on|off`: resolves once the store has it, rejects when it could not. */
  maintenance(on: boolean, reason: string): Promise<void>;
}

export function createRegistrationPart(o: RegistrationPartOptions): RegistrationPart {
  const { spec, clock } = o;
  const log = o.log.child('discovery');
  const stopping = new AbortController();
  const unsubscribe: (() => void)[] = [];
  let state: ServiceState = o.watchesHealth
    ? { status: 'critical', output: 'starting', maintenance: undefined }
    : { status: 'passing', output: 'running', maintenance: undefined };
  let registrar: Registrar | undefined;
  let registered = false;
  let timer: TimerHandle | undefined;
  let chain: Promise<void> = Promise.resolve();
  let failing = false;

  /** Writes the current state, one write at a time; the next heartbeat retries a failure. */
  function push(): Promise<void> {
    const next = chain.then(async () => {
      if (registrar === undefined || stopping.signal.aborted) return;
      try {
        await registrar.put(state, stopping.signal);
        if (!registered) log.info(`registered ${spec.id} (${spec.name}) with ${registrar.where}`, { status: state.status });
        else if (failing) log.info(`registration of ${spec.id} refreshed again`);
        registered = true;
        failing = false;
      } catch (error) {
        if (stopping.signal.aborted) return;
        if (!failing) log.warn(`cannot register ${spec.id} with ${registrar.where}: ${errorText(error)}; trying again every ${spec.ttlMs / 2} ms`);
        failing = true;
        throw error;
      }
    });
    chain = next.catch(() => {});
    return next;
  }

  function heartbeat(): void {
    timer = clock.setTimer(spec.ttlMs / 2, () => {
      void push().catch(() => {});
      heartbeat();
    });
  }

  function set(next: Partial<ServiceState>): Promise<void> {
    state = { ...state, ...next };
    return push();
  }

  return {
    name: 'registration',
    async prepare() {
      // Opening contacts nothing: a registry that cannot be used (no STEWARD_LOCK_DIR, unreadable
      // TLS files) is a configuration error before the app starts.
      registrar = await o.openRegistrar();
    },
    async run() {
      unsubscribe.push(
        o.bus.on('health.changed', (e) => {
          const status = e.health === 'healthy' ? 'passing' : 'critical';
          void set({ status, output: e.health === 'starting' ? 'starting' : e.output }).catch(() => {});
        }),
        o.bus.on('app.exited', () => void set({ status: 'critical', output: 'the app exited' }).catch(() => {})),
        o.bus.on('app.started', () => {
          if (!o.watchesHealth) void set({ status: 'passing', output: 'running' }).catch(() => {});
        }),
      );
      void push().catch(() => {});
      heartbeat();
    },
    maintenance(on, reason) {
      if (registrar === undefined) return Promise.reject(new Error(`${spec.id} is not registered`));
      log.info(on ? `${spec.id} enters maintenance: ${reason}` : `${spec.id} leaves maintenance`);
      return set({ maintenance: on ? reason : undefined });
    },
    async beforeAppStop(stop: StopContext) {
      for (const off of unsubscribe.splice(0)) off();
      timer?.cancel();
      const r = registrar;
      if (r === undefined) return;
      await settlesWithin(chain, Math.max(0, stop.deadline - clock.monotonic()) / 4, clock);
      stopping.abort();
      const budget = Math.max(0, stop.deadline - clock.monotonic());
      const attempt = new AbortController();
      const gone = r.deregister(attempt.signal).then(
        () => true,
        (error: unknown) => {
          log.warn(`cannot deregister ${spec.id} from ${r.where}: ${errorText(error)}`);
          return false;
        },
      );
      if (!(await settlesWithin(gone, budget / 4, clock)) || !(await gone)) {
        attempt.abort();
        return;
      }
      log.info(`deregistered ${spec.id}; waiting ${o.deregisterDelayMs} ms before stopping the app (STEWARD_DEREGISTER_DELAY)`);
      // Within the stop budget: at most half of what is left, the app needs the rest to stop.
      const left = Math.max(0, stop.deadline - clock.monotonic());
      await pause(clock, Math.min(o.deregisterDelayMs, left / 2));
    },
    async stop() {
      for (const off of unsubscribe.splice(0)) off();
      timer?.cancel();
      stopping.abort();
      await registrar?.close();
    },
  };
}
