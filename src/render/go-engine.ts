// steward's 'go' template engine: Go's text/template (as confd 0.17.0-dev, built with Go 1.19,
// runs it) with confd's function map, and steward's extra functions as a second map given at
// each render.
//
// Go strings are byte strings, and so are this engine's: the template text, the store's keys and
// values, and the output are held one char per byte (go/bytes.ts), so that what goes in comes out
// byte for byte. Text from elsewhere (a template given as a string, the environment, steward's
// functions) enters as its UTF-8 bytes; error messages leave as text.

import { confdGoFunctions, kvPairOf } from './confd/go-functions.ts';
import { fromBytes, toBytes } from './go/bytes.ts';
import type { ConfdContext } from './confd/functions.ts';
import type { SyncResolver } from './confd/dns.ts';
import { createSystemWorld } from './confd/world.ts';
import { TemplateError } from './engine.ts';
import type { CompiledTemplate, ExtraFunctions, RenderContext, TemplateEngine } from './engine.ts';
import type { GoFunc, GoFunctions } from './go/funcs.ts';
import { goToPlain, plainToGo } from './go/plain.ts';
import { compile } from './go/template.ts';
import type { GoTime } from './go/time.ts';
import { IFACE } from './go/value.ts';

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

// steward's functions take and return plain JavaScript values; to templates they look like
// Go functions of ...interface{}.
function extraFunction(f: (...args: unknown[]) => unknown): GoFunc<ConfdContext> {
  return { params: [], variadic: IFACE, call: (args) => plainToGo(f(...args.map(goToPlain)), kvPairOf) };
}

// Own properties only: "constructor" or "toString" must not resolve to Object.prototype's.
function extraFunctions(extras: ExtraFunctions): GoFunctions<ConfdContext> {
  const map = new Map<string, GoFunc<ConfdContext>>();
  for (const name of Object.keys(extras)) {
    const f = extras[name];
    if (typeof f === 'function') map.set(name, extraFunction(f));
  }
  return map;
}

export interface GoTemplateEngine extends TemplateEngine {
  /**
   * Parses a template: `text` as a string is Unicode text (compiled as its UTF-8 bytes), as a
   * Uint8Array the template file's bytes. `render` returns a byte string (encoding 'latin1'),
   * and expects `ctx.store` to hold byte strings (bytesStore).
   */
  compile(name: string, text: string | Uint8Array): CompiledTemplate;
  /** Stops the DNS worker thread if one was started (it never keeps the process alive). */
  close(): void;
}

// Messages are built from byte strings inside the engine (Go's error texts quote the template's
// bytes); outside they are text.
function asText<T>(run: () => T): T {
  try {
    return run();
  } catch (e) {
    if (!(e instanceof TemplateError)) throw e;
    const where: { template: string; line?: number; column?: number; key?: string } = { template: fromBytes(e.template) };
    if (e.line !== undefined) where.line = e.line;
    if (e.column !== undefined) where.column = e.column;
    if (e.key !== undefined) where.key = fromBytes(e.key);
    throw new TemplateError(fromBytes(e.message), where);
  }
}

/** Creates the 'go' engine. Compiled templates are immutable and may be rendered repeatedly. */
export function createGoEngine(options: GoEngineOptions = {}): GoTemplateEngine {
  const world = createSystemWorld(options);
  const { now, fileExists, dns } = world;
  const later = options.extraFunctionNames === undefined ? 'any' : new Set(options.extraFunctionNames);

  return {
    name: 'go',
    close: () => world.close(),
    compile(name: string, text: string | Uint8Array): CompiledTemplate {
      const bytes = typeof text === 'string' ? toBytes(text) : Buffer.from(text.buffer, text.byteOffset, text.byteLength).toString('latin1');
      const template = asText(() => compile(toBytes(name), bytes, confdGoFunctions, { later }));
      return {
        calls: template.calls,
        encoding: 'latin1',
        render: (ctx: RenderContext): string =>
          asText(() => template.execute({ store: ctx.store, env: ctx.env, now, fileExists, dns }, extraFunctions(ctx.extras), ctx.limits)),
      };
    },
  };
}
