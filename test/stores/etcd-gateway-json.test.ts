// The etcd client's JSON: requests as etcd 3.4's gateway takes them, and its answers (base64 keys
// and values with every byte kept, int64 fields as decimal strings, fields at their default left
// out) back in steward's types; and the framing of streamed answers.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  gatewayErrorOf,
  keyValueOf,
  rangeBody,
  txnBody,
  txnResultOf,
  watchCreateBody,
  watchResponseOf,
} from '../../src/stores/etcd/gateway-json.ts';
import { jsonLines } from '../../src/stores/etcd/json-lines.ts';

const b64 = (text: string | Buffer): string => Buffer.from(text).toString('base64');

describe('etcd gateway requests', () => {
  it('asks for a prefix as a base64 key and range end, int64 fields as strings', () => {
    assert.deepEqual(rangeBody({ key: '/app', prefix: true, revision: 42, limit: 1, maxCreateRevision: 9_007_199_254_740_000, sortByCreate: 'descend' }), {
      key: b64('/app'),
      range_end: b64('/apq'),
      revision: '42',
      sort_target: 'CREATE',
      sort_order: 'DESCEND',
      max_create_revision: '9007199254740000',
      limit: '1',
    });
    // Revision 0 (the latest) and a single key need no field.
    assert.deepEqual(rangeBody({ key: 'k', revision: 0 }), { key: b64('k') });
    // Every key: etcd's "\0 to \0".
    assert.deepEqual(rangeBody({ key: '', prefix: true }), { key: 'AA==', range_end: 'AA==' });
  });

  it('encodes keys as UTF-8 bytes', () => {
    assert.equal(rangeBody({ key: '/é' }).key, b64(Buffer.from([0x2f, 0xc3, 0xa9])));
  });

  it('writes compares, puts with a 64-bit lease id, deletes and ranges of a transaction', () => {
    const lease = '7587879898117212170';
    assert.deepEqual(
      txnBody({
        compare: [
          { key: '/e/1', createRevision: 0 },
          { key: '/e/2', lease },
        ],
        success: [{ put: { key: '/e/1', value: 'v', lease } }, { delete: '/e/2' }],
        failure: [{ range: { key: '/e/1' } }],
      }),
      {
        compare: [
          { key: b64('/e/1'), target: 'CREATE', result: 'EQUAL', create_revision: '0' },
          { key: b64('/e/2'), target: 'LEASE', result: 'EQUAL', lease },
        ],
        success: [{ request_put: { key: b64('/e/1'), value: b64('v'), lease } }, { request_delete_range: { key: b64('/e/2') } }],
        failure: [{ request_range: { key: b64('/e/1') } }],
      },
    );
  });

  it('creates a prefix watch from a revision with progress notifications', () => {
    assert.deepEqual(watchCreateBody({ prefixes: ['/w'], startRevision: 7 }), {
      create_request: { key: b64('/w'), range_end: b64('/x'), start_revision: '7', progress_notify: true },
    });
  });

  it('watches several prefixes with one watcher over the smallest range that holds them', () => {
    const range = (prefixes: string[]): unknown => {
      const c = (watchCreateBody({ prefixes, startRevision: 1 }) as { create_request: { key: string; range_end: string } }).create_request;
      return [Buffer.from(c.key, 'base64').toString('latin1'), Buffer.from(c.range_end, 'base64').toString('latin1')];
    };
    assert.deepEqual(range(['/m/b', '/a/x', '/m/a']), ['/a/x', '/m/c']);
    // Every key ('') makes it the whole key space.
    assert.deepEqual(range(['/a', '']), ['\0', '\0']);
    assert.throws(() => watchCreateBody({ prefixes: [], startRevision: 1 }), RangeError);
  });
});

describe('etcd gateway answers', () => {
  it('keeps every byte of a value that is not UTF-8, and its text form beside it', () => {
    const raw = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x41]);
    const kv = keyValueOf({ key: b64('/bin'), value: raw.toString('base64'), create_revision: '3', mod_revision: '5', version: '2', lease: '7587879898117212170' });
    assert.equal(kv.key, '/bin');
    assert.deepEqual(Buffer.from(kv.bytes, 'latin1'), raw);
    assert.equal(kv.value, raw.toString('utf8'));
    assert.equal(kv.createRevision, 3);
    assert.equal(kv.modRevision, 5);
    // Lease ids use all 64 bits: kept as the decimal string etcd sent.
    assert.equal(kv.lease, '7587879898117212170');
  });

  it('reads fields left out as their defaults (an empty value, no lease, a delete event)', () => {
    const kv = keyValueOf({ key: b64('/k'), mod_revision: '9' });
    assert.deepEqual(kv, { key: '/k', value: '', bytes: '', createRevision: 0, modRevision: 9, lease: '0' });
  });

  it('reads a failed transaction (no "succeeded") and its range answers; a put answers no keys', () => {
    const res = txnResultOf({
      header: { revision: '12' },
      responses: [{ response_range: { header: { revision: '12' }, kvs: [{ key: b64('/a'), value: b64('1'), create_revision: '4', mod_revision: '4' }], count: '1' } }, { response_put: { header: {} } }],
    });
    assert.equal(res.succeeded, false);
    assert.equal(res.revision, 12);
    assert.deepEqual(
      res.responses.map((r) => r.kvs.map((kv) => [kv.key, kv.value])),
      [[['/a', '1']], []],
    );
    assert.equal(txnResultOf({ header: { revision: '1' }, succeeded: true }).succeeded, true);
  });

  it('reads watch answers: watch id 0 left out, PUT left out, DELETE named, compaction and cancel reasons', () => {
    const events = watchResponseOf({
      header: { revision: '20' },
      events: [{ kv: { key: b64('/w/a'), value: b64('x'), mod_revision: '19' } }, { type: 'DELETE', kv: { key: b64('/w/b'), mod_revision: '20' } }],
    });
    assert.equal(events.watchId, '0');
    assert.equal(events.revision, 20);
    assert.deepEqual(
      events.events.map((e) => [e.type, e.kv.key, e.kv.value, e.kv.modRevision]),
      [
        ['put', '/w/a', 'x', 19],
        ['delete', '/w/b', '', 20],
      ],
    );
    const compacted = watchResponseOf({ header: { raft_term: '2' }, watch_id: '3', canceled: true, compact_revision: '17' });
    assert.deepEqual([compacted.watchId, compacted.canceled, compacted.created, compacted.compactRevision, compacted.revision], ['3', true, false, 17, 0]);
    const refused = watchResponseOf({ watch_id: '-1', created: true, canceled: true, cancel_reason: 'rpc error: code = PermissionDenied desc = etcdserver: permission denied' });
    assert.equal(refused.cancelReason, 'rpc error: code = PermissionDenied desc = etcdserver: permission denied');
  });

  it('tells etcd errors in both of the gateway forms', () => {
    assert.deepEqual(gatewayErrorOf({ error: 'etcdserver: requested lease not found', message: 'etcdserver: requested lease not found', code: 5 }), {
      message: 'etcdserver: requested lease not found',
      code: 5,
    });
    assert.deepEqual(gatewayErrorOf({ error: { grpc_code: 14, http_code: 503, message: 'transport is closing', http_status: 'Service Unavailable' } }), {
      message: 'transport is closing',
      code: 14,
    });
    assert.equal(gatewayErrorOf({ result: { header: {} } }), undefined);
  });
});

describe('etcd gateway stream framing', () => {
  it('returns each object once its line is complete, whatever the chunks', () => {
    const lines = jsonLines();
    const text = '{"result":{"created":true}}\n{"result":{"events":[{"kv":{"key":"L2E="}}]}}\n\n{"result":{"watch_id":"1"}}\n';
    const bytes = Buffer.from(text);
    const seen: unknown[] = [];
    // One byte at a time: a line spans many chunks.
    for (let i = 0; i < bytes.length; i++) seen.push(...lines.push(bytes.subarray(i, i + 1)));
    assert.deepEqual(seen, [{ result: { created: true } }, { result: { events: [{ kv: { key: 'L2E=' } }] } }, { result: { watch_id: '1' } }]);
    assert.equal(lines.pending, 0);
    // Many lines in one chunk, the last one unfinished.
    assert.deepEqual(lines.push(Buffer.from('{"a":1}\n{"b":2}\n{"c"')), [{ a: 1 }, { b: 2 }]);
    assert.equal(lines.pending, 4);
    assert.deepEqual(lines.push(Buffer.from(':3}\n')), [{ c: 3 }]);
  });

  it('keeps a multi-byte character split between chunks', () => {
    const lines = jsonLines();
    const bytes = Buffer.from('{"reason":"é"}\n');
    const cut = bytes.indexOf(0xc3) + 1;
    assert.deepEqual(lines.push(bytes.subarray(0, cut)), []);
    assert.deepEqual(lines.push(bytes.subarray(cut)), [{ reason: 'é' }]);
  });

  it('refuses a line that is not a JSON object', () => {
    assert.throws(() => jsonLines().push(Buffer.from('[1,2]\n')), /not a JSON object/);
    assert.throws(() => jsonLines().push(Buffer.from('<html>\n')), SyntaxError);
  });
});
