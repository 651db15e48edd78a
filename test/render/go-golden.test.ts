// Renders every case in test/render/fixtures/go-*.json and compares with what Go 1.19's
// text/template, running confd's function map, produced for the same template and keys:
// output byte for byte, or the exact error text.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { KvStore } from '../../src/render/confd/store.ts';
import { GoTime, UTC } from '../../src/render/go/time.ts';
import { TemplateError } from '../../src/render/engine.ts';
import { createGoEngine } from '../../src/render/go-engine.ts';

interface Case {
  name?: string;
  tmpl: string;
  kv?: Record<string, string>;
  env?: Record<string, string>;
  want: { out: string } | { err: string } | { parseErr: string };
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
      const label = `#${i} ${c.tmpl.length > 60 ? c.tmpl.slice(0, 57) + '...' : c.tmpl}`;
      test(label, () => {
        const name = c.name ?? 't.tmpl';
        const ctx = {
          store: new KvStore(Object.entries(c.kv ?? fixture.kv ?? {})),
          env: c.env ?? fixture.env ?? {},
          extras: {},
        };
        const want = c.want;
        if ('parseErr' in want) {
          assert.throws(() => engine.compile(name, c.tmpl), (e: unknown) => {
            assert.ok(e instanceof TemplateError);
            assert.equal(e.message, want.parseErr);
            return true;
          });
          return;
        }
        const t = engine.compile(name, c.tmpl);
        if ('err' in want) {
          assert.throws(() => t.render(ctx), (e: unknown) => {
            assert.ok(e instanceof TemplateError);
            assert.equal(e.message, want.err);
            return true;
          });
          return;
        }
        assert.equal(t.render(ctx), want.out);
      });
    });
  });
}
