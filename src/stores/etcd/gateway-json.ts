// steward's etcd requests as the v3 JSON gateway takes them, and its answers back. The gateway
// speaks protobuf's JSON mapping: keys and values are base64 (any bytes), 64-bit integers are
// decimal strings, enums are names, and a field at its default (0, false, '', empty list) is left
// out of an answer altogether. Streamed calls (watch, lease keep-alive) wrap every message in
// {"result": ...} or {"error": ...}.

import type { Compare, KeyValue, Operation, RangeRequest, TxnRequest, TxnResult, WatchCreate, WatchResponse } from './client.ts';
import { prefixRange } from './keys.ts';

/** A JSON object as JSON.parse gives it. */
export type Json = { readonly [field: string]: unknown };

const b64 = (bytes: Buffer): string => bytes.toString('base64');
const keyOf = (key: string): string => b64(Buffer.from(key, 'utf8'));

export function rangeBody(r: RangeRequest): Json {
  const { key, range_end } = r.prefix === true ? prefixRange(r.key) : { key: Buffer.from(r.key, 'utf8'), range_end: undefined };
  return {
    key: b64(key),
    ...(range_end === undefined ? {} : { range_end: b64(range_end) }),
    ...(r.revision === undefined || r.revision === 0 ? {} : { revision: String(r.revision) }),
    ...(r.sortByCreate === undefined ? {} : { sort_target: 'CREATE', sort_order: r.sortByCreate === 'ascend' ? 'ASCEND' : 'DESCEND' }),
    ...(r.maxCreateRevision === undefined ? {} : { max_create_revision: String(r.maxCreateRevision) }),
    ...(r.limit === undefined ? {} : { limit: String(r.limit) }),
  };
}

function compareBody(c: Compare): Json {
  return 'lease' in c
    ? { key: keyOf(c.key), target: 'LEASE', result: 'EQUAL', lease: c.lease }
    : { key: keyOf(c.key), target: 'CREATE', result: 'EQUAL', create_revision: String(c.createRevision) };
}

function operationBody(op: Operation): Json {
  if ('range' in op) return { request_range: rangeBody(op.range) };
  if ('put' in op) return { request_put: { key: keyOf(op.put.key), value: keyOf(op.put.value), lease: op.put.lease } };
  return { request_delete_range: { key: keyOf(op.delete) } };
}

export function txnBody(t: TxnRequest): Json {
  return { compare: t.compare.map(compareBody), success: t.success.map(operationBody), failure: t.failure.map(operationBody) };
}

/** One watcher over the smallest range that holds every prefix (range end '\0': to the last key). */
export function watchCreateBody(w: WatchCreate): Json {
  const ranges = w.prefixes.map(prefixRange);
  if (ranges.length === 0) throw new RangeError('a watch needs at least one prefix');
  const toTheEnd = (end: Buffer): boolean => end.length === 1 && end[0] === 0;
  let { key, range_end } = ranges[0]!;
  for (const r of ranges) {
    if (Buffer.compare(r.key, key) < 0) key = r.key;
    if (!toTheEnd(range_end) && (toTheEnd(r.range_end) || Buffer.compare(r.range_end, range_end) > 0)) range_end = r.range_end;
  }
  return { create_request: { key: b64(key), range_end: b64(range_end), start_revision: String(w.startRevision), progress_notify: true } };
}

const objectAt = (value: unknown): Json => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {});
const listAt = (value: unknown): readonly unknown[] => (Array.isArray(value) ? value : []);
const textAt = (value: unknown): string => (typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '');
/** An int64 field: a decimal string, 0 when left out. Revisions stay well inside 2^53. */
const intAt = (value: unknown): number => (value === undefined ? 0 : Number(value));
const bytesAt = (value: unknown): Buffer => Buffer.from(textAt(value), 'base64');

export function revisionOf(answer: Json): number {
  return intAt(objectAt(answer['header'])['revision']);
}

export function keyValueOf(value: unknown): KeyValue {
  const kv = objectAt(value);
  const bytes = bytesAt(kv['value']);
  return {
    key: bytesAt(kv['key']).toString('utf8'),
    value: bytes.toString('utf8'),
    bytes: bytes.toString('latin1'),
    createRevision: intAt(kv['create_revision']),
    modRevision: intAt(kv['mod_revision']),
    lease: kv['lease'] === undefined ? '0' : textAt(kv['lease']),
  };
}

export function kvsOf(answer: Json): KeyValue[] {
  return listAt(answer['kvs']).map(keyValueOf);
}

export function txnResultOf(answer: Json): TxnResult {
  return {
    succeeded: answer['succeeded'] === true,
    revision: revisionOf(answer),
    responses: listAt(answer['responses']).map((op) => ({ kvs: kvsOf(objectAt(objectAt(op)['response_range'])) })),
  };
}

export function watchResponseOf(result: Json): WatchResponse {
  return {
    watchId: result['watch_id'] === undefined ? '0' : textAt(result['watch_id']),
    revision: revisionOf(result),
    created: result['created'] === true,
    canceled: result['canceled'] === true,
    compactRevision: intAt(result['compact_revision']),
    cancelReason: textAt(result['cancel_reason']),
    events: listAt(result['events']).map((e) => {
      const ev = objectAt(e);
      return { type: ev['type'] === 'DELETE' ? 'delete' : 'put', kv: keyValueOf(ev['kv']) };
    }),
  };
}

/** etcd's error in an answer: {"error","message","code"} for a call, {"error":{...}} in a stream. */
export interface GatewayError {
  readonly message: string;
  /** The gRPC status code (5 not found, 14 unavailable, 16 unauthenticated...). */
  readonly code: number;
}

export function gatewayErrorOf(answer: Json): GatewayError | undefined {
  const error = answer['error'];
  if (error === undefined) return undefined;
  if (typeof error === 'object' && error !== null) {
    const e = objectAt(error);
    return { message: textAt(e['message']) || 'etcd answered with an error', code: intAt(e['grpc_code'] ?? e['code']) };
  }
  return { message: textAt(answer['message']) || textAt(error), code: intAt(answer['code']) };
}

/** A streamed message's payload ({"result": ...}). */
export function resultOf(message: Json): Json {
  return objectAt(message['result']);
}
