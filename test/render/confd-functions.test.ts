// confd's functions through the engine-neutral API (plain JavaScript values), with the
// behaviour and error texts confd's Go code has (expected values checked against Go 1.19).

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { GoError } from '../../src/render/go/errors.ts';
import { createConfdFunctions, statExists } from '../../src/render/confd/functions.ts';
import type { ConfdFunctions } from '../../src/render/confd/functions.ts';
import { KvStore } from '../../src/render/confd/store.ts';
import { GoTime, UTC, fixedZone } from '../../src/render/go/time.ts';

const instant = Date.UTC(2024, 2, 5, 14, 7, 9) / 1000;

function fns(env: Record<string, string> = {}): ConfdFunctions {
  return createConfdFunctions({
    store: new KvStore([['/a', '1'], ['/app/x', 'b'], ['/app/y', 'a']]),
    env,
    now: () => new GoTime(instant, 120000000, UTC),
    fileExists: (p) => p === '/there',
    dns: {
      lookupIP: (h) => (h === 'db' ? ['10.0.0.2', '10.0.0.10', 'fd00::1', '10.0.0.1'] : null),
      lookupSRV: (s, p, n) =>
        `_${s}._${p}.${n}` === '_etcd._tcp.example.com'
          ? [
              { Target: 'b.example.com.', Port: 2380, Priority: 0, Weight: 0 },
              { Target: 'a.example.com.', Port: 2380, Priority: 10, Weight: 5 },
              { Target: 'a.example.com.', Port: 12380, Priority: 1, Weight: 1 },
            ]
          : null,
    },
  });
}

function goError(message: string): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof GoError, String(e));
    assert.equal(e.message, message);
    return true;
  };
}

describe('store functions', () => {
  test('getv, gets, getvs, exists, ls, lsdir use the store', () => {
    const f = fns();
    assert.equal(f.getv('/a'), '1');
    assert.equal(f.getv('/zz', 'd'), 'd');
    assert.deepEqual(f.gets('/app/*'), [{ Key: '/app/x', Value: 'b' }, { Key: '/app/y', Value: 'a' }]);
    assert.deepEqual(f.getvs('/app/*'), ['a', 'b']);
    assert.equal(f.exists('/a'), true);
    assert.deepEqual(f.ls('/app'), ['x', 'y']);
    assert.deepEqual(f.lsdir('/'), []);
    assert.throws(() => f.get('/zz'), goError('key does not exist: /zz'));
  });
});

describe('json and jsonArray', () => {
  test('decode to plain values; null gives null', () => {
    const f = fns();
    assert.deepEqual({ ...f.json('{"a":1,"b":[1,2.5,"x",null,true],"c":{"z":1}}') }, {
      a: 1, b: [1, 2.5, 'x', null, true], c: Object.assign(Object.create(null), { z: 1 }),
    });
    assert.equal(f.json('null'), null);
    assert.deepEqual(f.jsonArray('["a", {"b": 2}]')?.[0], 'a');
    assert.equal(f.jsonArray('null'), null);
  });

  test("syntax and type errors carry encoding/json's messages", () => {
    const f = fns();
    assert.throws(() => f.json('{"a" 1}'), goError("invalid character '1' after object key"));
    assert.throws(() => f.json(''), goError('unexpected end of JSON input'));
    assert.throws(() => f.json('[1,2]'), goError('json: cannot unmarshal array into Go value of type map[string]interface {}'));
    assert.throws(() => f.jsonArray('{}'), goError('json: cannot unmarshal object into Go value of type []interface {}'));
    assert.throws(() => f.json('{"a":1e999}'), goError('json: cannot unmarshal number 1e999 into Go value of type float64'));
    assert.throws(() => f.json('{"a":1.}'), goError("invalid character '}' after decimal point in numeric literal"));
    assert.throws(() => f.json('1.'), goError("invalid character ' ' after decimal point in numeric literal"));
    assert.throws(() => f.json("{'a':1}"), goError("invalid character '\\'' looking for beginning of object key string"));
    assert.throws(() => f.json('{"a":1} x'), goError("invalid character 'x' after top-level value"));
  });
});

describe('strings and paths', () => {
  test('Go semantics for split, replace, case mapping, base and dir', () => {
    const f = fns();
    assert.deepEqual(f.split('abc', ''), ['a', 'b', 'c']);
    assert.deepEqual(f.split('', ','), ['']);
    assert.equal(f.join(['a', 'b'], '-'), 'a-b');
    assert.equal(f.replace('a-b-c', '-', '+', 1), 'a+b-c');
    assert.equal(f.replace('abc', '', '-', -1), '-a-b-c-');
    assert.equal(f.toUpper('straße ǆ'), 'STRAßE Ǆ');
    assert.equal(f.toLower('İSTANBUL ΣΑΣ'), 'istanbul σασ');
    assert.equal(f.trimSuffix('a.conf', '.conf'), 'a');
    assert.equal(f.contains('hello', 'ell'), true);
    assert.equal(f.base('/a/b/'), 'b');
    assert.equal(f.base(''), '.');
    assert.equal(f.dir('a'), '.');
    assert.equal(f.dir('/a/../b/c'), '/b');
  });

  test('getenv falls back to the default when the variable is unset or empty', () => {
    const f = fns({ SET: 'v', EMPTY: '' });
    assert.equal(f.getenv('SET', 'd'), 'v');
    assert.equal(f.getenv('EMPTY', 'd'), 'd');
    assert.equal(f.getenv('UNSET'), '');
  });

  test('base64, parseBool and atoi with strconv/base64 error texts', () => {
    const f = fns();
    assert.equal(f.base64Encode('hello wörld'), 'aGVsbG8gd8O2cmxk');
    assert.equal(f.base64Decode('aGVsbG8gd8O2cmxk'), 'hello wörld');
    assert.equal(f.base64Decode('Y\nQ=='), 'a');
    assert.throws(() => f.base64Decode('aGk=x'), goError('illegal base64 data at input byte 4'));
    assert.throws(() => f.base64Decode('aGk'), goError('illegal base64 data at input byte 0'));
    assert.equal(f.parseBool('T'), true);
    assert.throws(() => f.parseBool('maybe'), goError('strconv.ParseBool: parsing "maybe": invalid syntax'));
    assert.equal(f.atoi('-42'), -42);
    assert.equal(f.atoi('9007199254740993'), 9007199254740993n);
    assert.throws(() => f.atoi('12a'), goError('strconv.Atoi: parsing "12a": invalid syntax'));
    assert.throws(() => f.atoi('-99999999999999999999'), goError('strconv.Atoi: parsing "-99999999999999999999": value out of range'));
  });

  test('map builds an object from pairs and rejects odd or non-string keys', () => {
    const f = fns();
    assert.deepEqual({ ...f.map('a', 1, 'b', 'x') }, { a: 1, b: 'x' });
    assert.throws(() => f.map('a', 1, 2), goError('invalid map call'));
    assert.throws(() => f.map(1, 2), goError('map keys must be strings'));
  });
});

describe('lists and arithmetic', () => {
  test("sortByLength is Go's unstable sort.Sort: equal lengths keep Go's order", () => {
    const f = fns();
    assert.deepEqual(f.sortByLength(['ccc', 'a', 'bb']), ['a', 'bb', 'ccc']);
    const many = 'bb,a,cc,d,ee,f,gg,h,ii,j,kk,l,mm,n,oo,p,qq,r,ss,t'.split(',');
    assert.equal(f.sortByLength(many).join(' '), 'p r j d n f l h t a kk gg mm ee oo bb qq cc ss ii');
  });

  test('sortKVByLength and reverse work in place', () => {
    const f = fns();
    const kvs = [{ Key: '/long/key', Value: '1' }, { Key: '/k', Value: '2' }];
    assert.equal(f.sortKVByLength(kvs), kvs);
    assert.deepEqual(kvs.map((k) => k.Key), ['/k', '/long/key']);
    const xs = ['a', 'b', 'c'];
    f.reverse(xs);
    assert.deepEqual(xs, ['c', 'b', 'a']);
    assert.equal(f.reverse('abc'), 'abc');
  });

  test('Go int arithmetic: truncating division, wrap-around, divide by zero', () => {
    const f = fns();
    assert.equal(f.div(-7, 2), -3);
    assert.equal(f.mod(-7, 2), -1);
    assert.equal(f.add(1, 2), 3);
    assert.equal(f.mul(4611686018427387904n, 2), -9223372036854775808n);
    assert.throws(() => f.div(1, 0), goError('runtime error: integer divide by zero'));
    assert.throws(() => f.mod(1, 0), goError('runtime error: integer divide by zero'));
    assert.deepEqual(f.seq(1, 3), [1, 2, 3]);
    assert.deepEqual(f.seq(3, 1), []);
  });
});

describe('the world: DNS, files, clock', () => {
  test('lookupIP sorts as strings; V4/V6 filter; a failed lookup is empty', () => {
    const f = fns();
    assert.deepEqual(f.lookupIP('db'), ['10.0.0.1', '10.0.0.10', '10.0.0.2', 'fd00::1']);
    assert.deepEqual(f.lookupIPV4('db'), ['10.0.0.1', '10.0.0.10', '10.0.0.2']);
    assert.deepEqual(f.lookupIPV6('db'), ['fd00::1']);
    assert.deepEqual(f.lookupIP('nx'), []);
  });

  test('lookupSRV sorts by target, port, priority and weight written as one string', () => {
    const f = fns();
    assert.deepEqual(f.lookupSRV('etcd', 'tcp', 'example.com').map((r) => `${r.Target}:${r.Port}`), [
      'a.example.com.:12380', 'a.example.com.:2380', 'b.example.com.:2380',
    ]);
    assert.deepEqual(f.lookupSRV('x', 'tcp', 'nx'), []);
  });

  test('fileExists comes from the context; the default treats only ENOENT as missing', () => {
    assert.equal(fns().fileExists('/there'), true);
    const dir = mkdtempSync(join(tmpdir(), 'steward-render-'));
    const file = join(dir, 'f');
    writeFileSync(file, 'x');
    assert.equal(statExists(file), true);
    assert.equal(statExists(join(dir, 'missing')), false);
    // ENOTDIR is not "does not exist" for Go's os.IsNotExist.
    assert.equal(statExists(join(file, 'below')), true);
  });

  test('datetime is a Go time.Time', () => {
    const t = fns().datetime();
    assert.equal(t.String(), '2024-03-05 14:07:09.12 +0000 UTC');
    assert.equal(t.Format('Mon Jan _2 15:04:05.000 MST 2006'), 'Tue Mar  5 14:07:09.120 UTC 2024');
    assert.equal(t.Format('2006-01-02T15:04:05Z07:00'), '2024-03-05T14:07:09Z');
    assert.equal(t.In(fixedZone('', -9000)).Format('3:04PM -07:00 MST'), '11:37AM -02:30 -0230');
    assert.equal(t.Year(), 2024);
    assert.equal(t.YearDay(), 65);
    assert.equal(new GoTime(instant, 5, UTC, 1234567890).String(), '2024-03-05 14:07:09.000000005 +0000 UTC m=+1.234567890');
  });
});
