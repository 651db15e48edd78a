// What the operator's control (socket, /status, /metrics) may ask of the parts, beyond what the
// bus tells it: small typed views that parts.ts registers as it builds the parts.

import type { JobStatus } from '../jobs/run-job.ts';
import type { RunRecord } from '../jobs/job-run.ts';
import type { RenderReport } from '../resources/templates-part.ts';

export interface TemplatesView {
  resources(): readonly { readonly name: string; readonly dest: string }[];
  renderNow(): Promise<readonly RenderReport[]>;
}

export interface JobsView {
  status(): JobStatus[];
  /** Runs a job now with its guard and fencing; undefined when it did not start. */
  runNow(name: string): Promise<RunRecord | undefined>;
}

export interface RegistrationView {
  /** `steward --maintenance on|off`: resolves once the registry has it. */
  maintenance(on: boolean, reason: string): Promise<void>;
}

export interface RolloutView {
  /** Gives back the rollout lock this replica holds; says what it did. */
  release(): Promise<string>;
}

export interface OperatorViews {
  templates?: TemplatesView;
  rollout?: RolloutView;
  jobs?: JobsView;
  registration?: RegistrationView;
}

/** parts.ts hands each view over as the part is built. */
export type RegisterViews = (views: OperatorViews) => void;
