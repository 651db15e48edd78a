// The document /status and `steward --status --json` answer with. Its JSON Schema is
// status-schema.ts (published in docs/operations.md). It never carries a value, a content hash
// or a fencing token: a hash of a short secret can be guessed, a token could be replayed.

export type HealthState = 'starting' | 'healthy' | 'unhealthy';

export interface Health {
  readonly status: HealthState;
  readonly reason: string;
}

export interface AppStatus {
  readonly pid: number | null;
  readonly startedAt: string | null;
  readonly restarts: number;
  readonly lastExit: { readonly code: number | null; readonly signal: string | null; readonly status: number; readonly at: string } | null;
  readonly health: HealthState;
  /** The app's last STATUS= on its NOTIFY_SOCKET in this run (STEWARD_HEALTH_NOTIFY), else null. */
  readonly notifyStatus?: string | null;
}

export interface ResourceStatus {
  readonly name: string;
  readonly dest: string;
  readonly lastRender: string | null;
  readonly lastOutcome: string | null;
  /** Counts the times the file was written. */
  readonly revision: number;
  readonly lastError: string | null;
  readonly reloads: number;
}

export interface BackendState {
  readonly name: string;
  readonly connected: boolean;
  readonly lastError: string | null;
}

export interface ElectionStatus {
  readonly role: 'leader' | 'follower' | null;
  readonly leader: string | null;
  readonly members: readonly string[];
  readonly holdsFencingToken: boolean;
}

export interface JobState {
  readonly name: string;
  readonly kind: string;
  readonly schedule: string;
  readonly when: string;
  readonly running: boolean;
  readonly lastRun: string | null;
  readonly ok: boolean | null;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly durationMs: number | null;
  readonly nextRun: string | null;
}

export interface StatusDocument {
  readonly version: string;
  readonly startedAt: string;
  readonly uptimeSeconds: number;
  readonly health: Health;
  readonly app: AppStatus;
  readonly resources: readonly ResourceStatus[];
  readonly backend: BackendState | null;
  readonly election: ElectionStatus | null;
  readonly locks: readonly string[];
  readonly jobs: readonly JobState[];
}
