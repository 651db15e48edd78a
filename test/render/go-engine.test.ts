// The 'go' TemplateEngine as steward's resources use it: compile once, render many times,
// with confd's functions, steward's extra functions and located errors.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KvStore } from '../../src/render/confd/store.ts';
import { GoTime, UTC } from '../../src/render/go/time.ts';
import { TemplateError } from '../../src/render/engine.ts';
import type { ExtraFunctions, RenderContext } from '../../src/render/engine.ts';
import { createGoEngine } from '../../src/render/go-engine.ts';
import { storeFor } from '../../src/render/store-for.ts';
import { loadNunjucksEngine } from '../../src/render/index.ts';

function ctx(keys: Record<string, string> = {}, extras: ExtraFunctions = {}, env: Record<string, string> = {}): RenderContext {
  return { store: new KvStore(Object.entries(keys)), env, extras };
}

describe('compile and render', () => {
  test("the engine is named 'go' and a compiled template renders any number of stores", () => {
    const engine = createGoEngine();
    assert.equal(engine.name, 'go');
    const t = engine.compile('db.conf.tmpl', '{{ $h := getv "/db/host" }}host={{ $h }}\n');
    assert.equal(t.render(ctx({ '/db/host': 'a' })), 'host=a\n');
    assert.equal(t.render(ctx({ '/db/host': 'b' })), 'host=b\n');
    assert.equal(t.render(ctx({ '/db/host': 'a' })), 'host=a\n');
  });

  test('the data is nil, as confd passes it', () => {
    const t = createGoEngine().compile('t', '{{ . }}|{{ .Anything }}|{{ print . }}');
    assert.equal(t.render(ctx()), '<no value>|<no value>|<nil>');
  });

  test('getenv reads the render context, not the process environment', () => {
    const t = createGoEngine().compile('t', '{{ getenv "STEWARD_TEST_ONLY" "unset" }}');
    assert.equal(t.render(ctx({}, {}, { STEWARD_TEST_ONLY: 'set' })), 'set');
    assert.equal(t.render(ctx()), 'unset');
  });
});

describe('errors', () => {
  test('a syntax error fails compile with Go\'s message and the line', () => {
    const engine = createGoEngine();
    assert.throws(() => engine.compile('app.tmpl', 'a\n{{ if .x }}\nb\n'), (e: unknown) => {
      assert.ok(e instanceof TemplateError);
      assert.equal(e.message, 'template: app.tmpl:4: unexpected EOF');
      assert.equal(e.template, 'app.tmpl');
      assert.equal(e.line, 4);
      return true;
    });
    assert.throws(() => engine.compile('app.tmpl', '{{ getv "/a" }\n'), {
      message: 'template: app.tmpl:1: unexpected "}" in operand',
    });
  });

  test('a missing key names the key, the template, the line and the byte column', () => {
    const t = createGoEngine().compile('app.tmpl', 'x\nhé {{ getv "/db/pass" }}');
    assert.throws(() => t.render(ctx()), (e: unknown) => {
      assert.ok(e instanceof TemplateError);
      assert.equal(
        e.message,
        'template: app.tmpl:2:7: executing "app.tmpl" at <getv "/db/pass">: error calling getv: key does not exist: /db/pass',
      );
      assert.equal(e.line, 2);
      assert.equal(e.column, 7);
      assert.equal(e.key, '/db/pass');
      return true;
    });
  });

  test('errors inside a defined template name that template and the file\'s line', () => {
    const t = createGoEngine().compile('app.tmpl', '{{ define "sub" }}\n  {{ getv "/x" }}{{ end }}{{ template "sub" }}');
    assert.throws(() => t.render(ctx()), {
      message: 'template: app.tmpl:2:5: executing "sub" at <getv "/x">: error calling getv: key does not exist: /x',
    });
  });

  test('endless template recursion stops with Go\'s depth error', () => {
    const t = createGoEngine().compile('r.tmpl', '{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" 1 }}');
    assert.throws(() => t.render(ctx()), {
      message: 'template: r.tmpl:1:28: executing "r" at <{{template "r" .}}>: exceeded maximum template depth (100000)',
    });
  });
});

describe("steward's extra functions", () => {
  test('are callable with Go values converted to plain ones and back', () => {
    const calls: unknown[][] = [];
    const extras: ExtraFunctions = {
      role: () => 'leader',
      members: () => ['b', 'a'],
      isLeader: () => true,
      echo: (...args: unknown[]) => {
        calls.push(args);
        return args.length;
      },
      ratio: () => 0.5,
    };
    const t = createGoEngine().compile(
      't',
      '{{ role }} {{ join (members) "," }} {{ if isLeader }}L{{ end }} {{ echo 1 "s" 2.5 (split "x,y" ",") (get "/k") }} {{ ratio }}',
    );
    assert.equal(t.render(ctx({ '/k': 'v' }, extras)), 'leader b,a L 5 0.5');
    assert.deepEqual(calls, [[1, 's', 2.5, ['x', 'y'], { Key: '/k', Value: 'v' }]]);
  });

  test('an error thrown by an extra stops the render like a Go function error', () => {
    const t = createGoEngine().compile('t', '{{ hasLock "x" }}');
    assert.throws(() => t.render(ctx({}, { hasLock: () => { throw new Error('no session'); } })), {
      message: 'template: t:1:3: executing "t" at <hasLock "x">: error calling hasLock: no session',
    });
  });

  test("confd's functions win over an extra of the same name; builtins can be shadowed", () => {
    const t = createGoEngine().compile('t', '{{ getv "/k" }} {{ len "abc" }}');
    const out = t.render(ctx({ '/k': 'store' }, { getv: () => 'extra', len: () => 'shadowed' }));
    assert.equal(out, 'store shadowed');
  });

  test('without a list of extra names, unknown functions are checked at render time', () => {
    const t = createGoEngine().compile('t', 'x\n{{ members }}');
    assert.equal(t.render(ctx({}, { members: () => ['m'] })), 'x\n[m]');
    assert.throws(() => t.render(ctx()), (e: unknown) => {
      assert.ok(e instanceof TemplateError);
      assert.equal(e.message, 'template: t:2: function "members" not defined');
      assert.equal(e.line, 2);
      return true;
    });
  });

  test('with a list of extra names, an unknown function fails at compile time as in Go', () => {
    const engine = createGoEngine({ extraFunctionNames: ['role'] });
    assert.equal(engine.compile('t', '{{ role }}').render(ctx({}, { role: () => 'r' })), 'r');
    assert.throws(() => engine.compile('t', '{{ rol }}'), { message: 'template: t:1: function "rol" not defined' });
  });
});

describe('additions beyond Go 1.19, as steward asked for them', () => {
  test('range over an int (Go 1.22)', () => {
    const t = createGoEngine().compile('t', '{{ range $i := 3 }}{{ $i }}{{ end }}|{{ range 0 }}x{{ else }}none{{ end }}');
    assert.equal(t.render(ctx()), '012|none');
  });

  test('else with (Go 1.23)', () => {
    const t = createGoEngine().compile('t', '{{ with getv "/a" "" }}a={{ . }}{{ else with getv "/b" "" }}b={{ . }}{{ else }}none{{ end }}');
    assert.equal(t.render(ctx({ '/b': '2' })), 'b=2');
    assert.equal(t.render(ctx()), 'none');
  });
});

describe('the real world by default', () => {
  test('lookupIP resolves through the system resolver', () => {
    const t = createGoEngine().compile('t', '{{ range lookupIPV4 "localhost" }}{{ . }} {{ end }}');
    assert.match(t.render(ctx()), /127\.0\.0\.1/);
  });

  test('datetime is the current time with a monotonic reading, like time.Now', () => {
    const t = createGoEngine().compile('t', '{{ datetime.Year }}|{{ datetime }}');
    const [year, full] = t.render(ctx()).split('|') as [string, string];
    assert.equal(Number(year), new Date().getFullYear());
    assert.match(full, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? [+-]\d{4} \S+ m=\+\d+\.\d{9}$/);
  });

  test('an injected clock replaces time.Now', () => {
    const engine = createGoEngine({ now: () => new GoTime(0, 0, UTC) });
    assert.equal(engine.compile('t', '{{ datetime.Format "2006-01-02" }}').render(ctx()), '1970-01-01');
  });
});

test('only own properties of ctx.extras are functions', () => {
  const t = createGoEngine().compile('t', '{{ toString }}');
  assert.throws(() => t.render(ctx()), { message: 'template: t:1: function "toString" not defined' });
});

describe('bytes in, bytes out', () => {
  const bin = Buffer.from('41fffe0001c3285a', 'hex');

  test('a file given as bytes, store values and the output are byte strings, written as latin1', () => {
    const engine = createGoEngine();
    const t = engine.compile('t', Buffer.concat([Buffer.from('{{ getv "/b" }}|{{ len "é" }}|'), Buffer.from('ff', 'hex')]));
    assert.equal(t.encoding, 'latin1');
    const store = storeFor(t, [['/b', bin.toString('latin1')]]);
    const out = Buffer.from(t.render({ store, env: {}, extras: {} }), t.encoding);
    assert.equal(out.toString('hex'), `${bin.toString('hex')}7c327cff`);
  });

  test('text from outside enters as UTF-8 (template strings, key names, getenv, extras) and errors leave as text', () => {
    const engine = createGoEngine();
    const t = engine.compile('t', '{{ getv "/clé" }} {{ getenv "NOM" }} {{ len (getenv "NOM") }} {{ who "é" }}');
    const store = storeFor(t, [['/clé', Buffer.from('ü').toString('latin1')]]);
    const out = t.render({ store, env: { NOM: 'Zoë' }, extras: { who: (s: unknown) => `${String(s)}!` } });
    assert.equal(Buffer.from(out, 'latin1').toString('utf8'), 'ü Zoë 4 é!');
    assert.throws(() => engine.compile('modèle', '{{ é'), (e: unknown) => {
      assert.ok(e instanceof TemplateError);
      assert.equal(e.template, 'modèle');
      assert.match(e.message, /^template: modèle:1: /);
      return true;
    });
    const missing = engine.compile('t', '{{ getv "/clé/x" }}');
    assert.throws(() => missing.render({ store, env: {}, extras: {} }), (e: unknown) => {
      assert.ok(e instanceof TemplateError);
      assert.equal(e.key, '/clé/x');
      assert.match(e.message, /key does not exist: \/clé\/x$/);
      return true;
    });
  });

  test('a nunjucks template gets text, and a value that is not UTF-8 is refused by its key, never shown', () => {
    const text = { encoding: 'utf8' } as const;
    assert.equal(storeFor(text, [['/k', Buffer.from('é').toString('latin1')]]).getv('/k'), 'é');
    assert.throws(() => storeFor(text, [['/k', 'S3CRET\xff']], (k) => `/app${k}`), (e: unknown) => {
      assert.ok(e instanceof TemplateError);
      assert.match(e.message, /the value of key \/app\/k is not valid UTF-8/);
      assert.doesNotMatch(e.message, /S3CRET/);
      assert.equal(e.key, undefined);
      return true;
    });
  });
});

describe('nunjucks takes text', () => {
  test('a template file is read as UTF-8, and one that is not UTF-8 fails to compile', async () => {
    const nunjucks = await loadNunjucksEngine();
    const t = nunjucks.compile('a.njk', Buffer.from('é{{ getv("/k") }}'));
    assert.equal(t.encoding, 'utf8');
    const store = storeFor(t, [['/k', Buffer.from('€').toString('latin1')]]);
    assert.equal(t.render({ store, env: {}, extras: {} }), 'é€');
    assert.throws(() => nunjucks.compile('b.njk', Buffer.from('ff', 'hex')), (e: unknown) => {
      assert.ok(e instanceof TemplateError);
      assert.match(e.message, /^b\.njk: the template is not valid UTF-8/);
      return true;
    });
  });
});
