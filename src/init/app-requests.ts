// What the other parts may ask of the app, through the bus: a rendered file changed and the app
// should hear of it (app.reload), or it should be stopped and started again (app.restart): not
// counted for a configuration change, counted as a failure (restart limit, back-off) for a
// repair of an unhealthy app; or a start-first handover (app.handover, for a rollout).

import type { Bus } from '../core/bus.ts';
import type { Logger } from '../core/log.ts';
import type { Supervisor } from './supervisor.ts';

/** Acts on app.reload and app.restart through the supervisor; returns an unsubscribe. */
export function actOnAppRequests(bus: Bus, supervisor: Supervisor, log: Logger): () => void {
  const offReload = bus.on('app.reload', ({ signal, reason }) => {
    if (supervisor.send(signal)) log.info(`sent ${signal} to the app`, { reason });
    else log.debug(`${signal} not sent: the app is not running`, { reason });
  });
  const offRestart = bus.on('app.restart', ({ reason, countsAsFailure }) => supervisor.restartNow(reason, countsAsFailure === true));
  const offHandover = bus.on('app.handover', ({ step, reason }) => {
    if (step === 'start') supervisor.startBeside(reason);
    else if (step === 'retire') supervisor.retireOld();
    else {
      const kept = supervisor.keepOld();
      // The health checks watch the old app again.
      if (kept !== undefined) bus.emit('app.started', { pid: kept.pid, attempt: 0 });
    }
  });
  return () => {
    offHandover();
    offReload();
    offRestart();
  };
}
