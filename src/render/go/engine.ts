// steward's 'go' template engine: Go's text/template (as confd 0.17.0-dev, built with Go 1.19,
// runs it) with confd's function map and steward's extra functions.

import type { SyncResolver } from '../confd/dns.ts';
import { confdFunctionNames } from '../confd/functions.ts';
import { quote } from '../confd/gostrings.ts';
import type { GoTime } from '../confd/time.ts';
import { createSystemWorld } from '../confd/world.ts';
import { TemplateError } from '../engine.ts';
import type { CompiledTemplate, ExtraFunctions, RenderContext, TemplateEngine } from '../engine.ts';
import { builtins } from './builtins.ts';
import { confdGoFunctions, goToPlain, plainToGo } from './confd.ts';
import { execute } from './exec.ts';
import type { Program } from './exec.ts';
import type { GoFunc, RunContext } from './funcs.ts';
import { ParseError, parseTemplate } from './parse.ts';
import type { UnknownFunction } from './parse.ts';
import { IFACE } from './value.ts';

export interface GoEngineOptions {
  /**
   * Names of steward's extra functions. When given, a template calling any other unknown
   * function fails to compile, exactly as Go's parser does; when omitted, unknown names are
   * checked against ctx.extras at render time (and reported with the same parse error text).
   */
  readonly extraFunctionNames?: readonly string[];
  /** time.Now for datetime; default: the system clock in Go's idea of the local zone. */
  readonly now?: () => GoTime;
  /** fileExists; default: stat, where only ENOENT counts as missing (Go's os.IsNotExist). */
  readonly fileExists?: (path: string) => boolean;
  /** DNS for lookupIP/lookupSRV; default: a worker-thread resolver started on first use. */
  readonly dns?: Pick<SyncResolver, 'lookupIP' | 'lookupSRV'>;
}

const confdNames: ReadonlySet<string> = new Set(confdFunctionNames);

// Own properties only: "constructor" or "toString" must not resolve to Object.prototype's.
function extraOf(extras: ExtraFunctions, name: string): ((...args: unknown[]) => unknown) | undefined {
  const f = Object.hasOwn(extras, name) ? extras[name] : undefined;
  return typeof f === 'function' ? f : undefined;
}

// steward's functions take and return plain JavaScript values; to templates they look like
// Go functions of ...interface{}.
function extraFunction(f: (...args: unknown[]) => unknown): GoFunc {
  return { params: [], variadic: IFACE, call: (args) => plainToGo(f(...args.map(goToPlain))) };
}

export interface GoTemplateEngine extends TemplateEngine {
  /** Stops the DNS worker thread if one was started (it never keeps the process alive). */
  close(): void;
}

/** Creates the 'go' engine. Compiled templates are immutable and may be rendered repeatedly. */
export function createGoEngine(options: GoEngineOptions = {}): GoTemplateEngine {
  const world = createSystemWorld(options);
  const { now, fileExists, dns } = world;
  const extraNames = options.extraFunctionNames === undefined ? undefined : new Set(options.extraFunctionNames);

  return {
    name: 'go',
    close: () => world.close(),
    compile(name: string, text: string): CompiledTemplate {
      const deferred: UnknownFunction[] | undefined = extraNames === undefined ? [] : undefined;
      const hasFunction = (n: string): boolean =>
        confdNames.has(n) || builtins.has(n) || (extraNames !== undefined && extraNames.has(n));
      let trees;
      try {
        trees = parseTemplate(name, text, deferred === undefined ? { hasFunction } : { hasFunction, deferUnknown: deferred });
      } catch (e) {
        if (e instanceof ParseError) throw new TemplateError(e.message, { template: name, line: e.line });
        throw e;
      }
      const compiledTrees = trees;
      return {
        render(ctx: RenderContext): string {
          for (const u of deferred ?? []) {
            if (extraOf(ctx.extras, u.name) === undefined) {
              throw new TemplateError(`template: ${name}:${u.line}: function ${quote(u.name)} not defined`, {
                template: name,
                line: u.line,
              });
            }
          }
          const extraFuncs = new Map<string, GoFunc>();
          const prog: Program = {
            name,
            text,
            trees: compiledTrees,
            funcs: (n) => {
              const c = confdGoFunctions.get(n);
              if (c !== undefined) return { fn: c, builtin: false };
              const x = extraOf(ctx.extras, n);
              if (x !== undefined) {
                let f = extraFuncs.get(n);
                if (f === undefined) extraFuncs.set(n, (f = extraFunction(x)));
                return { fn: f, builtin: false };
              }
              const b = builtins.get(n);
              return b === undefined ? undefined : { fn: b, builtin: true };
            },
          };
          const rc: RunContext = {
            confd: { store: ctx.store, env: ctx.env, now, fileExists, dns },
            extras: ctx.extras,
          };
          return execute(prog, name, rc);
        },
      };
    },
  };
}
