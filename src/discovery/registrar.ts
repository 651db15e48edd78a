// How a registration is kept in one store. The registration part calls `put` when it starts,
// every half TTL, and on every change of health or maintenance; `deregister` first when
// steward stops.

import type { ServiceState } from './service-spec.ts';

export interface Registrar {
  /** Where, for logs (never credentials). */
  readonly where: string;
  /** Registers, or refreshes the registration's TTL with this state. */
  put(state: ServiceState, signal: AbortSignal): Promise<void>;
  /** Removes the registration (and what keeps it alive). */
  deregister(signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}
