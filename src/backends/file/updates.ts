// Helpers for backends that learn the whole state at once (a Consul recursive read, a re-read of
// the files) and report only what changed. The Consul backend uses them too.

import type { Update } from '../backend.ts';

/** The delta that turns `before` into `after`, or undefined when nothing changed. */
export function diffValues(
  before: ReadonlyMap<string, string>,
  after: ReadonlyMap<string, string>,
): Extract<Update, { kind: 'delta' }> | undefined {
  const set = new Map<string, string>();
  const deleted: string[] = [];
  for (const [key, value] of after) if (before.get(key) !== value) set.set(key, value);
  for (const key of before.keys()) if (!after.has(key)) deleted.push(key);
  if (set.size === 0 && deleted.length === 0) return undefined;
  return { kind: 'delta', set, deleted };
}

/** The keys of `values` that `belongs` accepts for at least one of `keys`. */
export function selectValues(
  values: ReadonlyMap<string, string>,
  keys: readonly string[],
  belongs: (requested: string, key: string) => boolean,
): Map<string, string> {
  const selected = new Map<string, string>();
  for (const [key, value] of values) if (keys.some((requested) => belongs(requested, key))) selected.set(key, value);
  return selected;
}

/**
 * Calls a listener so that an exception in it surfaces as an uncaught exception (a bug in the
 * caller) instead of being taken for a failure of the store by the watch loop around it.
 */
export function notify(call: () => void): void {
  try {
    call();
  } catch (error) {
    process.nextTick(() => {
      throw error;
    });
  }
}
