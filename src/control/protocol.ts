// The control socket's protocol: one JSON request line, one JSON answer line, then the server
// closes the connection. Every command is a client flag of the same binary.

import type { StatusDocument } from './status-document.ts';

export type ControlRequest =
  | { readonly command: 'health' }
  | { readonly command: 'status' }
  | { readonly command: 'reload' }
  | { readonly command: 'run-job'; readonly job: string }
  | { readonly command: 'rollout-release' }
  | { readonly command: 'maintenance'; readonly on: boolean };

export interface ControlAnswer {
  /** What the client exits with. */
  readonly exitCode: number;
  /** One line (--health) or a few, printed as they are. */
  readonly text: string;
  readonly status?: StatusDocument;
}

/** A request line longer than this is not a request. */
export const MAX_REQUEST_BYTES = 4096;
