// steward's one logger: pino, JSON on a pipe and human-readable on a terminal. pino is not
// loaded before the app is spawned (start-up cost on the pure-init path): records wait in a
// queue, with their own timestamps, until `activate()` opens the gate, and a run that never
// logs never loads pino at all.

import type { LogFormat, LogLevel } from '../config/options.ts';

export type Level = Exclude<LogLevel, 'silent'>;
export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  trace(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  fatal(msg: string, fields?: LogFields): void;
  /** A logger whose records carry `part` (init, config, cluster, ...). */
  child(part: string): Logger;
  enabled(level: Level): boolean;
}

export interface RootLogger extends Logger {
  /** Allows pino to load; until then records are queued. */
  activate(): void;
  /** Writes every queued record; resolves once they are out. */
  flush(): Promise<void>;
}

const LEVELS: Readonly<Record<LogLevel, number>> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Number.POSITIVE_INFINITY,
};

interface LogRecord {
  readonly level: Level;
  readonly time: number;
  readonly msg: string;
  readonly fields: LogFields;
}

type Write = (record: LogRecord) => void;

// Field names whose values never reach a log line, wherever they appear.
const SECRET_PATHS = ['password', 'token', 'secret', '*.password', '*.token', '*.secret'];

async function loadWriter(format: LogFormat, fd: number, level: LogLevel): Promise<Write> {
  const { pino } = await import('pino');
  const { isatty } = await import('node:tty');
  const pretty = format === 'pretty' || (format === 'auto' && isatty(fd));
  const options = {
    level,
    // No pid/hostname: steward is PID 1 in its container, and `pid` fields name the app's processes.
    base: undefined,
    timestamp: false,
    redact: { paths: SECRET_PATHS, censor: '[secret]' },
  };
  let stream: { write(msg: string): unknown };
  if (pretty) {
    const { default: prettyStream } = await import('pino-pretty');
    stream = prettyStream({
      destination: fd,
      sync: true,
      colorize: isatty(fd),
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'part',
      messageFormat: '{if part}{part}: {end}{msg}',
    });
  } else {
    stream = pino.destination({ fd, sync: true });
  }
  const logger = pino(options, stream);
  return (record) => logger[record.level]({ time: record.time, ...record.fields }, record.msg);
}

export function createLogger(options: { level: LogLevel; format: LogFormat; fd?: number }): RootLogger {
  const threshold = LEVELS[options.level];
  const fd = options.fd ?? 2;
  const queue: LogRecord[] = [];
  let active = false;
  let writer: Write | undefined;
  let loading: Promise<void> | undefined;

  function drain(): void {
    if (writer === undefined) return;
    for (const record of queue.splice(0)) writer(record);
  }

  function load(): Promise<void> {
    loading ??= loadWriter(options.format, fd, options.level).then(
      (w) => {
        writer = w;
        drain();
      },
      (error: unknown) => {
        // Without pino, still say what happened, as plain lines.
        writer = (r) => process.stderr.write(`steward ${r.level}: ${r.msg} ${JSON.stringify(r.fields)}\n`);
        process.stderr.write(`steward: could not load the logger: ${String(error)}\n`);
        drain();
      },
    );
    return loading;
  }

  function log(level: Level, msg: string, fields: LogFields): void {
    if (LEVELS[level] < threshold) return;
    queue.push({ level, time: Date.now(), msg, fields });
    if (writer !== undefined) drain();
    else if (active) void load();
  }

  function make(bindings: LogFields): Logger {
    return {
      trace: (msg, fields = {}) => log('trace', msg, { ...bindings, ...fields }),
      debug: (msg, fields = {}) => log('debug', msg, { ...bindings, ...fields }),
      info: (msg, fields = {}) => log('info', msg, { ...bindings, ...fields }),
      warn: (msg, fields = {}) => log('warn', msg, { ...bindings, ...fields }),
      error: (msg, fields = {}) => log('error', msg, { ...bindings, ...fields }),
      fatal: (msg, fields = {}) => log('fatal', msg, { ...bindings, ...fields }),
      child: (part) => make({ ...bindings, part }),
      enabled: (level) => LEVELS[level] >= threshold,
    };
  }

  return {
    ...make({}),
    activate() {
      active = true;
      if (queue.length > 0) void load();
    },
    async flush() {
      if (queue.length === 0) return;
      active = true;
      await load();
      drain();
    },
  };
}
