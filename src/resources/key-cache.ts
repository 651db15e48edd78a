// The values steward last read or was told about, for every key any resource needs. Renders
// read from here (one consistent view, no round trip per render); backend updates write here
// and say which keys changed. Keys are kept sorted so that "everything under /app" is a range.

import type { Update } from '../backends/backend.ts';

export class KeyCache {
  readonly #values = new Map<string, string>();
  #sorted: string[] = [];

  get size(): number {
    return this.#values.size;
  }

  get(key: string): string | undefined {
    return this.#values.get(key);
  }

  /** Applies an update; returns the keys whose value appeared, changed or disappeared. */
  apply(update: Update): string[] {
    const changed: string[] = [];
    if (update.kind === 'full') {
      for (const [key, value] of update.values) if (this.#values.get(key) !== value) changed.push(key);
      for (const key of this.#values.keys()) if (!update.values.has(key)) changed.push(key);
      this.#values.clear();
      for (const [key, value] of update.values) this.#values.set(key, value);
      this.#sorted = [...this.#values.keys()].sort();
      return changed;
    }
    for (const [key, value] of update.set) {
      const before = this.#values.get(key);
      if (before === value) continue;
      if (before === undefined) this.#insert(key);
      this.#values.set(key, value);
      changed.push(key);
    }
    for (const key of update.deleted) {
      if (!this.#values.has(key)) continue;
      this.#values.delete(key);
      const i = this.#lowerBound(key);
      if (this.#sorted[i] === key) this.#sorted.splice(i, 1);
      changed.push(key);
    }
    return changed;
  }

  /** Every cached key that starts with `prefix` (as a string), in order. */
  *withPrefix(prefix: string): Generator<[string, string]> {
    for (let i = this.#lowerBound(prefix); i < this.#sorted.length; i++) {
      const key = this.#sorted[i] ?? '';
      if (!key.startsWith(prefix)) return;
      yield [key, this.#values.get(key) ?? ''];
    }
  }

  *entries(): Generator<[string, string]> {
    yield* this.#values.entries();
  }

  #insert(key: string): void {
    this.#sorted.splice(this.#lowerBound(key), 0, key);
  }

  #lowerBound(key: string): number {
    let lo = 0;
    let hi = this.#sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.#sorted[mid] ?? '') < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
