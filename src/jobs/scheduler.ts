// Cron schedules through node-cron (v4), reduced to what the jobs part needs: a tick per slot,
// and the slots that were missed. Overlap is not node-cron's business here: the tick returns at
// once and the job runner decides, so that a skipped tick is logged the same way whether it came
// from the schedule or from a manual run.
//
// Late and missed runs (steward paused by `docker pause` or SIGSTOP, the event loop blocked):
// node-cron runs a slot that is at most `missedExecutionTolerance` late (and earlier than the
// next slot), and reports every older one as missed. A daily backup that is a few minutes late
// is still worth running, so the tolerance is generous; what is later than that is logged and
// not made up, as cron does.

import { createTask, validateDetailed, type TaskContext } from 'node-cron';
import { ConfigError } from '../core/exit-codes.ts';
import type { Logger } from '../core/log.ts';
import { errorText } from '../core/error-text.ts';

/** A slot at most this late still runs (and is logged as late); older slots are missed. */
export const LATE_TOLERANCE_MS = 5 * 60_000;
/** Lateness below this is timer jitter, not worth a log line. */
export const LATE_NOTICE_MS = 1000;

const FIELDS_HINT =
  'expected 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, such as "0 3 * * *" or "*/10 * * * * *"';

const FIELD_LABELS: Readonly<Record<string, string>> = {
  second: 'second',
  minute: 'minute',
  hour: 'hour',
  dayOfMonth: 'day-of-month',
  month: 'month',
  dayOfWeek: 'day-of-week',
};

/** Checks a cron expression; returns it with its whitespace normalised. */
export function checkCronExpression(expression: string, source: string): string {
  const normalized = expression.trim().split(/\s+/).join(' ');
  let problems: string[];
  try {
    problems = validateDetailed(normalized).errors.map((e) => {
      if (e.field === 'expression' || e.message.includes('impossible')) return e.message;
      return `bad ${FIELD_LABELS[e.field] ?? e.field} field ${JSON.stringify(e.value ?? '')}`;
    });
  } catch (error) {
    problems = [errorText(error)];
  }
  if (problems.length > 0) {
    throw new ConfigError(`${source}: invalid cron expression ${JSON.stringify(expression)} (${problems.join('; ')}; ${FIELDS_HINT})`);
  }
  return normalized;
}

export interface ScheduleOptions {
  /** For node-cron's own log lines. */
  readonly name: string;
  readonly expression: string;
  readonly timeZone: string;
  readonly log: Logger;
  /** A slot is due; `lateMs` is how long after the slot this runs. */
  readonly onTick: (slot: Date, lateMs: number) => void;
  /** Slots that were too late to run, gathered per wake-up (one call, not one per slot). */
  readonly onMissed: (slots: readonly Date[]) => void;
}

export interface Schedule {
  /** The next slot, or undefined once stopped. */
  nextRun(): Date | undefined;
  stop(): void;
}

export function startSchedule(o: ScheduleOptions): Schedule {
  const log = o.log;
  let missed: Date[] = [];
  let flush: NodeJS.Immediate | undefined;
  let stopped = false;

  const task = createTask(
    o.expression,
    (context: TaskContext) => {
      if (!stopped) o.onTick(context.date, Math.max(0, Date.now() - context.date.getTime()));
    },
    {
      name: `steward ${o.name}`,
      timezone: o.timeZone,
      noOverlap: false,
      missedExecutionTolerance: LATE_TOLERANCE_MS,
      // node-cron's own lines are about its internals; what users need is logged by the runner.
      logger: {
        info: (message) => log.debug(`node-cron: ${message}`),
        warn: (message) => log.debug(`node-cron: ${message}`),
        error: (message, error) => log.error(`node-cron: ${message instanceof Error ? message.message : message}`, { error: error?.message }),
        debug: (message) => log.debug(`node-cron: ${message instanceof Error ? message.message : message}`),
      },
    },
  );
  // node-cron reports each missed slot on its own, all in one wake-up: after a long pause of a
  // per-second schedule that would be thousands of lines.
  task.on('execution:missed', (context: TaskContext) => {
    if (stopped) return;
    missed.push(context.date);
    flush ??= setImmediate(() => {
      flush = undefined;
      const slots = missed;
      missed = [];
      if (!stopped && slots.length > 0) o.onMissed(slots);
    });
  });
  void task.start();

  return {
    nextRun: () => (stopped ? undefined : (task.getNextRun() ?? undefined)),
    stop() {
      if (stopped) return;
      stopped = true;
      if (flush !== undefined) clearImmediate(flush);
      // destroy() also takes the task out of node-cron's process-wide registry.
      void task.destroy();
    },
  };
}
