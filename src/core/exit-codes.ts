// steward's own exit codes follow sysexits(3), so that an orchestrator log tells a usage
// mistake from a bad configuration from an unreachable backend. The app's own status is
// passed through unchanged (128+n for a signal), as tini does.

export const EXIT = {
  ok: 0,
  /** The command could not be executed (permission, not a file). */
  notExecutable: 126,
  /** The command was not found. */
  notFound: 127,
  /** EX_USAGE: bad command line. */
  usage: 64,
  /** EX_UNAVAILABLE: a backend or a wait-for condition never became available. */
  unavailable: 69,
  /** EX_SOFTWARE: a bug in steward. */
  software: 70,
  /** EX_CONFIG: invalid configuration (variables, template resources, templates). */
  config: 78,
} as const;

/** An error that ends steward before (or instead of) running the app, with a documented code. */
export class StewardError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number) {
    super(message);
    this.name = 'StewardError';
    this.exitCode = exitCode;
  }
}

export class UsageError extends StewardError {
  constructor(message: string) {
    super(message, EXIT.usage);
    this.name = 'UsageError';
  }
}

export class ConfigError extends StewardError {
  constructor(message: string) {
    super(message, EXIT.config);
    this.name = 'ConfigError';
  }
}

export class UnavailableError extends StewardError {
  constructor(message: string) {
    super(message, EXIT.unavailable);
    this.name = 'UnavailableError';
  }
}
