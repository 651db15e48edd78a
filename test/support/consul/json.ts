import type { KvEntry, SessionRecord } from './store.ts';

// Consul answers with Go's encoding/json: compact, HTML-sensitive characters escaped,
// []byte as standard base64 (nil as null), and ?pretty indented by four spaces plus "\n".

function escapeLikeGo(json: string): string {
  return json
    .replaceAll('<', '\\u003c')
    .replaceAll('>', '\\u003e')
    .replaceAll('&', '\\u0026')
    .replaceAll('\u2028', '\\u2028')
    .replaceAll('\u2029', '\\u2029');
}

/** Marks a bigint so it is written as a bare JSON number (uint64 flags exceed 2^53). */
const BIG = '\u0000big:';

export function goJson(value: unknown, pretty: boolean): string {
  const text = JSON.stringify(
    value,
    (_key, v: unknown) => (typeof v === 'bigint' ? `${BIG}${v.toString()}` : v),
    pretty ? 4 : undefined,
  );
  const withNumbers = text.replace(/"\\u0000big:(\d+)"/g, '$1');
  return escapeLikeGo(withNumbers) + (pretty ? '\n' : '');
}

/** structs.DirEntry field order: LockIndex, Key, Flags, Value, Session (omitempty), indexes. */
export function kvEntryJson(entry: KvEntry): Record<string, unknown> {
  return {
    LockIndex: entry.lockIndex,
    Key: entry.key,
    Flags: entry.flags,
    Value: entry.value.length === 0 ? null : entry.value.toString('base64'),
    ...(entry.session === '' ? {} : { Session: entry.session }),
    CreateIndex: entry.createIndex,
    ModifyIndex: entry.modifyIndex,
  };
}

/** structs.Session field order; LockDelay is a Go Duration, i.e. nanoseconds. */
export function sessionJson(session: SessionRecord): Record<string, unknown> {
  return {
    ID: session.id,
    Name: session.name,
    Node: session.node,
    LockDelay: session.lockDelayNs,
    Behavior: session.behavior,
    TTL: session.ttl,
    NodeChecks: session.nodeChecks,
    ServiceChecks: session.serviceChecks,
    ...(session.checks === null || session.checks.length === 0 ? {} : { Checks: session.checks }),
    CreateIndex: session.createIndex,
    ModifyIndex: session.modifyIndex,
  };
}
