import type { TimerHandle } from '../../../src/core/clock.ts';
import type { ConsulStore, StoreChange } from './store.ts';
import type { VirtualTime } from './virtual-time.ts';

// Blocking queries as agent/blockingquery/blockingquery.go runs them: evaluate; answer at
// once when the result index is above ?index; otherwise park until something the query
// watches changes (then evaluate again), the wait runs out (answer with the last result),
// or the state store is abandoned by a snapshot restore (answer with the last result).

export const DEFAULT_WAIT_MS = 5 * 60_000;
export const MAX_WAIT_MS = 10 * 60_000;
/** Consul adds up to wait/16 of random stagger to spread wake-ups. */
const JITTER_FRACTION = 16;

export interface QueryResult<T> {
  readonly index: number;
  /** The query's "not found" sentinel: a missing key keeps blocking while it stays missing. */
  readonly notFound: boolean;
  readonly value: T;
}

export interface QuerySpec<T> {
  /** Evaluates against current state; throws for errors such as ACL denials. */
  evaluate(): QueryResult<T>;
  /** Whether a change could alter the result, like the memdb watch channels Consul adds. */
  watches(change: StoreChange): boolean;
}

export interface BlockingOptions {
  jitter: boolean;
  onPark: (parked: number) => void;
  onUnpark: (parked: number) => void;
}

interface Parked {
  wake(change: StoreChange): void;
}

export class BlockingQueries {
  #time: VirtualTime;
  #opts: BlockingOptions;
  #parked = new Set<Parked>();

  constructor(time: VirtualTime, store: ConsulStore, opts: BlockingOptions) {
    this.#time = time;
    this.#opts = opts;
    store.subscribe((change) => {
      for (const parked of [...this.#parked]) parked.wake(change);
    });
  }

  get parkedCount(): number {
    return this.#parked.size;
  }

  /** Consul's RPCQueryTimeout: default 5m, at most 10m, plus up to wait/16 of jitter. */
  timeoutFor(waitMs: number | undefined): number {
    let wait = waitMs === undefined || waitMs <= 0 ? DEFAULT_WAIT_MS : Math.min(waitMs, MAX_WAIT_MS);
    if (this.#opts.jitter) wait += Math.floor(Math.random() * (wait / JITTER_FRACTION));
    return wait;
  }

  /**
   * Runs a query with Consul's blocking semantics. Resolves with the result, rejects with
   * whatever evaluate() threw. `signal` aborts a parked query (client went away).
   */
  run<T>(spec: QuerySpec<T>, minIndex: number, waitMs: number | undefined, signal: AbortSignal): Promise<QueryResult<T>> {
    if (minIndex === 0) {
      return new Promise((resolve) => resolve(spec.evaluate()));
    }
    return new Promise<QueryResult<T>>((resolve, reject) => {
      let min = minIndex;
      let notFound = false;
      let last: QueryResult<T> | undefined;
      let timer: TimerHandle | undefined;
      const parked: Parked = { wake: (change) => onChange(change) };

      const finish = (outcome: () => void): void => {
        timer?.cancel();
        signal.removeEventListener('abort', onAbort);
        if (this.#parked.delete(parked)) this.#opts.onUnpark(this.#parked.size);
        outcome();
      };
      const onAbort = (): void => finish(() => reject(signal.reason));
      const attempt = (): void => {
        let result: QueryResult<T>;
        try {
          result = spec.evaluate();
        } catch (error) {
          finish(() => reject(error));
          return;
        }
        if (result.notFound) {
          // Still missing after a wake-up: do not report the unrelated index change.
          if (notFound) min = Math.max(min, result.index);
          notFound = true;
        }
        last = result;
        if (result.index > min) {
          const answer = result;
          finish(() => resolve(answer));
          return;
        }
        if (!this.#parked.has(parked)) {
          this.#parked.add(parked);
          this.#opts.onPark(this.#parked.size);
        }
      };
      const onChange = (change: StoreChange): void => {
        if (change.abandon) {
          const answer = last;
          if (answer !== undefined) finish(() => resolve(answer));
          return;
        }
        if (spec.watches(change)) attempt();
      };

      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      timer = this.#time.after(this.timeoutFor(waitMs), () => {
        const answer = last;
        if (answer !== undefined) finish(() => resolve(answer));
      });
      attempt();
    });
  }
}
