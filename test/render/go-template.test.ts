// The Go engine as a package: compile(name, text, functions) with any dialect's function map,
// knowing nothing of confd.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TemplateError } from '../../src/render/engine.ts';
import { MissingKeyError } from '../../src/render/go/errors.ts';
import type { GoFunc, GoFunctions } from '../../src/render/go/funcs.ts';
import { compile } from '../../src/render/go/template.ts';
import { STRING } from '../../src/render/go/value.ts';

interface Catalog {
  readonly services: ReadonlyMap<string, string>;
}

const service: GoFunc<Catalog> = {
  params: [STRING],
  call: ([name], ctx) => {
    const address = ctx.services.get(name as string);
    if (address === undefined) throw new MissingKeyError(`service/${String(name)}`, `no service ${String(name)}`);
    return address;
  },
};
const dialect: GoFunctions<Catalog> = new Map([['service', service]]);
const catalog: Catalog = { services: new Map([['db', '10.0.0.1:5432']]) };

describe('a dialect is a function map', () => {
  test("its functions run with the context given to execute, beside text/template's builtins", () => {
    const t = compile('t', '{{ service "db" | printf "db=%s" }}', dialect);
    assert.equal(t.execute(catalog), 'db=10.0.0.1:5432');
    assert.deepEqual([...t.calls].sort(), ['printf', 'service']);
  });

  test('a name outside the map and the builtins fails the parse, as in Go', () => {
    assert.throws(() => compile('t', 'x\n{{ getv "/a" }}', dialect), (e: unknown) => {
      assert.ok(e instanceof TemplateError);
      assert.equal(e.message, 'template: t:2: function "getv" not defined');
      assert.equal(e.line, 2);
      return true;
    });
  });

  test("a missing key thrown by the dialect's function is reported with its key", () => {
    const t = compile('t', '{{ service "cache" }}', dialect);
    assert.throws(() => t.execute(catalog), (e: unknown) => {
      assert.ok(e instanceof TemplateError);
      assert.equal(e.message, 'template: t:1:3: executing "t" at <service "cache">: error calling service: no service cache');
      assert.equal(e.key, 'service/cache');
      return true;
    });
  });

  test('functions given at execution are found after the map and before the builtins', () => {
    const constant = (value: string): GoFunc<Catalog> => ({ params: [], variadic: STRING, call: () => value });
    const later: GoFunctions<Catalog> = new Map([['service', constant('later')], ['len', constant('shadowed')], ['zone', constant('eu')]]);
    const t = compile('t', '{{ service "db" }} {{ len "abc" }} {{ zone }}', dialect, { later: new Set(['zone']) });
    assert.equal(t.execute(catalog, later), '10.0.0.1:5432 shadowed eu');
  });
});
