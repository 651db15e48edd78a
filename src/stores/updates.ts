// For watches that learn the whole state at once (a Consul recursive read, a re-read of the
// files) and report only what changed, and for every watch that calls a listener.

import type { Update } from './types.ts';

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
