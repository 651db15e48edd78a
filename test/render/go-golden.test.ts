// Renders every case in test/render/fixtures/go-*.json and compares with what Go 1.19's
// text/template, running confd's function map, produced for the same template and keys:
// output byte for byte, or the exact error text. Templates, values and outputs are UTF-8 text
// in the JSON, or hex (tmplHex, kvHex, outHex) where they hold bytes that are not UTF-8.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { KvStore } from '../../src/render/confd/store.ts';
import { toBytes } from '../../src/render/go/bytes.ts';
import { GoTime, UTC } from '../../src/render/go/time.ts';
import { TemplateError } from '../../src/render/engine.ts';
import { createGoEngine } from '../../src/render/go-engine.ts';

interface Case {
  name?: string;
  tmpl?: string;
  tmplHex?: string;
  kv?: Record<string, string>;
  kvHex?: Record<string, string>;
  env?: Record<string, string>;
  want: { out: string } | { outHex: string } | { err: string } | { parseErr: string };
}

interface Fixture {
  about: string;
  kv?: Record<string, string>;
  env?: Record<string, string>;
  cases: Case[];
}

// The same fake world the fixtures were generated with.
const fakeIPs: Record<string, string[]> = {
  'db.example.com': ['10.0.0.2', '10.0.0.10', 'fd00::1', '10.0.0.1'],
  localhost: ['127.0.0.1', '::1'],
  'v6.example.com': ['2001:db8::2', '2001:db8::1'],
};
const fakeSRV: Record<string, { Target: string; Port: number; Priority: number; Weight: number }[]> = {
  '_etcd-server._tcp.example.com': [
    { Target: 'b.example.com.', Port: 2380, Priority: 0, Weight: 0 },
    { Target: 'a.example.com.', Port: 2380, Priority: 10, Weight: 5 },
    { Target: 'a.example.com.', Port: 12380, Priority: 1, Weight: 1 },
  ],
};

const engine = createGoEngine({
  extraFunctionNames: [],
  now: () => new GoTime(Date.UTC(2024, 2, 5, 14, 7, 9) / 1000, 120000000, UTC),
  dns: {
    lookupIP: (h) => fakeIPs[h] ?? null,
    lookupSRV: (s, p, n) => fakeSRV[s === '' && p === '' ? n : `_${s}._${p}.${n}`] ?? null,
  },
});

const dir = join(import.meta.dirname, 'fixtures');
for (const file of readdirSync(dir).filter((f) => f.startsWith('go-') && f.endsWith('.json')).sort()) {
  const fixture = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Fixture;
  describe(`${file}: ${fixture.about.split('.')[0]}`, () => {
    fixture.cases.forEach((c, i) => {
      const shown = c.tmpl ?? `hex ${c.tmplHex ?? ''}`;
      const label = `#${i} ${shown.length > 60 ? shown.slice(0, 57) + '...' : shown}`;
      test(label, () => {
        const name = c.name ?? 't.tmpl';
        const text = c.tmplHex !== undefined ? Buffer.from(c.tmplHex, 'hex') : Buffer.from(c.tmpl ?? '', 'utf8');
        const kv: [string, string][] = Object.entries(c.kv ?? fixture.kv ?? {}).map(([k, v]) => [toBytes(k), toBytes(v)]);
        for (const [k, v] of Object.entries(c.kvHex ?? {})) kv.push([toBytes(k), Buffer.from(v, 'hex').toString('latin1')]);
        const ctx = {
          store: new KvStore(kv),
          env: c.env ?? fixture.env ?? {},
          extras: {},
        };
        const want = c.want;
        if ('parseErr' in want) {
          assert.throws(() => engine.compile(name, text), (e: unknown) => {
            assert.ok(e instanceof TemplateError);
            assert.equal(e.message, want.parseErr);
            return true;
          });
          return;
        }
        const t = engine.compile(name, text);
        if ('err' in want) {
          assert.throws(() => t.render(ctx), (e: unknown) => {
            assert.ok(e instanceof TemplateError);
            assert.equal(e.message, want.err);
            return true;
          });
          return;
        }
        const out = Buffer.from(t.render(ctx), 'latin1');
        const expected = 'outHex' in want ? Buffer.from(want.outHex, 'hex') : Buffer.from(want.out, 'utf8');
        assert.equal(out.toString('hex'), expected.toString('hex'), `got ${JSON.stringify(out.toString('utf8'))}`);
      });
    });
  });
}
