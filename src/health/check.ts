// What one health check is, whatever its kind: something that answers healthy or not, with a
// line of output for the logs, the hooks and the status view. A check never throws: a probe
// that cannot even be made is a failed check.

export interface CheckResult {
  readonly ok: boolean;
  /** What the check said (a command's output, an HTTP status) or why it failed. */
  readonly output: string;
}

export interface Check {
  /** For logs: `command ...`, `http ...`, `tcp ...`. */
  readonly description: string;
  /** One probe of the app whose pid is `pid`; stopped when `timeoutMs` passes or `signal` aborts. */
  run(pid: number, timeoutMs: number, signal: AbortSignal): Promise<CheckResult>;
}

/** Output kept from one check, as Docker keeps. */
export const KEEP_OUTPUT = 4096;

export function failed(error: unknown): CheckResult {
  return { ok: false, output: error instanceof Error ? error.message : String(error) };
}
