import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `probe` until it returns something other than `false`, `undefined` or `null`, and resolves
 * with that value. Only for states that no event reports (files, /proc, a server's answers); when
 * there is an event, await the event instead. `explain` adds what was seen to the timeout error.
 */
export async function until<T>(
  what: string,
  probe: () => T | false | undefined | null | Promise<T | false | undefined | null>,
  timeoutMs = 15_000,
  explain?: () => string,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== false && value !== undefined && value !== null) return value;
    if (performance.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${explain === undefined ? '' : `; ${explain()}`}`);
    }
    await sleep(10);
  }
}

/** Lets `ms` pass, to show that something does *not* happen meanwhile; never to wait for an event. */
export function quietFor(ms: number): Promise<void> {
  return sleep(ms);
}
