// A Logger that records what it is told, for tests of parts that log.

import type { Level, LogFields, Logger } from '../../src/core/log.ts';

export interface Recorded {
  readonly level: Level;
  readonly msg: string;
  readonly fields: LogFields;
}

export function recordingLogger(into: Recorded[] = [], bindings: LogFields = {}): Logger & { records: Recorded[] } {
  const at = (level: Level) => (msg: string, fields: LogFields = {}) => {
    into.push({ level, msg, fields: { ...bindings, ...fields } });
  };
  return {
    records: into,
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    fatal: at('fatal'),
    child: (part) => recordingLogger(into, { ...bindings, part }),
    enabled: () => true,
  };
}
