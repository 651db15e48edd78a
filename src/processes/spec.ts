// What one sidecar is, once its settings are read and checked (config.ts reads them).

import type { RestartPolicy } from '../config/options.ts';
import type { SignalName } from '../config/values.ts';
import type { ChildOutput } from '../core/spawn-child.ts';
import type { MonitorTiming } from '../health/monitor.ts';

/** When a sidecar starts: before the app (undefined), or once the app or another sidecar is so far. */
export type After =
  | { readonly kind: 'app'; readonly state: 'started' | 'healthy' }
  | { readonly kind: 'process'; readonly name: string; readonly state: 'running' | 'healthy' };

export type HealthProbe =
  | { readonly kind: 'command'; readonly words: readonly string[] }
  | { readonly kind: 'http'; readonly url: URL; readonly status: ReadonlySet<number> }
  | { readonly kind: 'tcp'; readonly targets: readonly string[] };

export interface ProcessHealth extends MonitorTiming {
  readonly probe: HealthProbe;
}

export interface ProcessSpec {
  readonly name: string;
  /** Where it is declared, for logs: `STEWARD_PROCESS_HAPROXY_*` or a file's path. */
  readonly origin: string;
  readonly argv: readonly string[];
  readonly restart: RestartPolicy;
  readonly restartBackoffMs: number;
  /** Failed runs in a row after which it is not started again; 0: no limit. */
  readonly restartLimit: number;
  /** A user setting of its own (resolved like STEWARD_USER); undefined: the app's user. */
  readonly user: string | undefined;
  readonly userSource: string;
  readonly reloadSignal: SignalName;
  /** The least time between two reload signals; one asked for sooner waits. */
  readonly reloadSpacingMs: number;
  readonly stopSignal: SignalName;
  /** Its own grace for a stop; the stop budget (STEWARD_STOP_TIMEOUT) caps it. */
  readonly stopTimeoutMs: number;
  readonly after: After | undefined;
  readonly health: ProcessHealth | undefined;
  readonly required: boolean;
  readonly output: ChildOutput;
}

export function describeAfter(after: After | undefined): string {
  if (after === undefined) return 'before the app';
  return `${after.kind === 'app' ? 'app' : after.name}:${after.state}`;
}
