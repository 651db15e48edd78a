// The package's entry: Go's text/template with a function map, as `template.New(name).Funcs(m)
// .Parse(text)` then `Execute` with nil data. A dialect (confd's functions, later
// consul-template's) is a GoFunctions map and the context its functions read when they run.

import { TemplateError, type RenderLimits } from '../engine.ts';
import { builtins } from './builtins.ts';
import { functionsCalled } from './calls.ts';
import { execute } from './exec.ts';
import type { FoundFunction, Program } from './exec.ts';
import type { GoFunctions } from './funcs.ts';
import { ParseError, parseTemplate } from './parse.ts';
import type { UnknownFunction } from './parse.ts';
import { quote } from './strings.ts';

export interface CompileOptions {
  /**
   * Functions that are only given when the template runs (execute's `laterFunctions`): their names, or
   * 'any' to accept every name the map lacks and check it when the template runs, with the
   * parse error Go would have given. Go itself has neither: an unknown name fails the parse.
   */
  readonly later?: ReadonlySet<string> | 'any';
}

export interface GoTemplate<C> {
  readonly name: string;
  /** Every function name the file's templates call, builtins included. */
  readonly calls: ReadonlySet<string>;
  /**
   * Runs the template named like the file with nil data. `laterFunctions` are given only now:
   * the map passed to compile wins over them, and they win over the builtins.
   */
  execute(ctx: C, laterFunctions?: GoFunctions<C>, limits?: RenderLimits): string;
}

const builtinFound: ReadonlyMap<string, FoundFunction<unknown>> = new Map(
  [...builtins].map(([name, fn]) => [name, { fn, builtin: true }]),
);

/** Parses `text` as template `name`; throws TemplateError with Go's message on a syntax error. */
export function compile<C>(name: string, text: string, functions: GoFunctions<C>, options: CompileOptions = {}): GoTemplate<C> {
  const later = options.later;
  const deferred: UnknownFunction[] | undefined = later === 'any' ? [] : undefined;
  const hasFunction = (n: string): boolean =>
    functions.has(n) || builtins.has(n) || (later !== undefined && later !== 'any' && later.has(n));
  let trees;
  try {
    trees = parseTemplate(name, text, deferred === undefined ? { hasFunction } : { hasFunction, deferUnknown: deferred });
  } catch (e) {
    if (e instanceof ParseError) throw new TemplateError(e.message, { template: name, line: e.line });
    throw e;
  }
  const compiled = trees;
  const own = new Map<string, FoundFunction<C>>();
  for (const [n, fn] of functions) own.set(n, { fn, builtin: false });
  return {
    name,
    calls: functionsCalled(compiled.values()),
    execute(ctx: C, laterFunctions?: GoFunctions<C>, limits?: RenderLimits): string {
      for (const u of deferred ?? []) {
        if (laterFunctions === undefined || !laterFunctions.has(u.name)) {
          throw new TemplateError(`template: ${name}:${u.line}: function ${quote(u.name)} not defined`, { template: name, line: u.line });
        }
      }
      const prog: Program<C> = {
        name,
        text,
        trees: compiled,
        funcs: (n) => {
          const f = own.get(n);
          if (f !== undefined) return f;
          const m = laterFunctions?.get(n);
          if (m !== undefined) return { fn: m, builtin: false };
          return builtinFound.get(n);
        },
      };
      return execute(prog, name, ctx, limits);
    },
  };
}
