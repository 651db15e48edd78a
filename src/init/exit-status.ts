// Turning a wait status into what steward reports, as tini does: the app's code, or 128+n
// when signal n killed it.

import { signalName, type SignalName } from '../config/values.ts';

export interface AppExit {
  readonly pid: number;
  /** The exit code when the app exited, else null. */
  readonly code: number | null;
  /** The signal that killed the app, else null. */
  readonly signal: SignalName | null;
  /** What steward would exit with for this: code, or 128 + signal number. */
  readonly status: number;
}

export function decodeWaitStatus(pid: number, raw: number): AppExit {
  const termSignal = raw & 0x7f;
  if (termSignal === 0) {
    const code = (raw >> 8) & 0xff;
    return { pid, code, signal: null, status: code };
  }
  return { pid, code: null, signal: signalName(termSignal) ?? null, status: 128 + termSignal };
}

/** STEWARD_SUCCESS_EXIT_CODES maps chosen statuses to 0. */
export function reportedStatus(exit: AppExit, successCodes: ReadonlySet<number>): number {
  return successCodes.has(exit.status) ? 0 : exit.status;
}

export function describeExit(exit: AppExit): string {
  return exit.signal !== null ? `killed by ${exit.signal}` : `exited with ${exit.code}`;
}
