// Every event on the bus, in one place: what a part may publish and what another may act on.

import type { SignalName } from '../config/values.ts';
import type { AppExit } from '../init/exit-status.ts';

export interface Events {
  /** The app was spawned (again, after a restart). */
  'app.started': { readonly pid: number; readonly attempt: number };
  /** The app exited; `restarting` tells whether the supervisor will start it again. */
  'app.exited': { readonly exit: AppExit; readonly restarting: boolean };
  /** A signal steward received (before any rewrite). */
  'signal.received': { readonly signal: SignalName };
  /** A rendered file changed and the app should hear of it (resources/ publishes, init/ acts). */
  'app.reload': { readonly signal: SignalName; readonly reason: string };
  /** The app should be stopped gracefully and started again (resource `reload = "restart"`). */
  'app.restart': { readonly reason: string };
  /** steward is stopping; `status` is what it will exit with unless the app decides. */
  shutdown: { readonly reason: string; readonly status: number };
}

export type EventName = keyof Events;
