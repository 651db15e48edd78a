// steward's 'nunjucks' engine: nunjucks with autoescaping off and confd's function set as
// globals (getv, gets, ...), so `{{ getv("/db/host") }}` works as in a confd template. A missing
// key is an error naming the template, the key and the line, never an empty string written; so is
// an undefined name (throwOnUndefined), which would otherwise render as nothing.

import type nunjucksModule from 'nunjucks';
import { createConfdFunctions } from './confd/functions.ts';
import { createSystemWorld, type ConfdWorld } from './confd/world.ts';
import { TemplateError, type CompiledTemplate, type RenderContext, type TemplateEngine } from './engine.ts';
import { MissingKeyError } from './go/errors.ts';
import { symbolsUsed } from './nunjucks-calls.ts';
import { errorText } from '../core/error-text.ts';

type Nunjucks = typeof nunjucksModule;

// What @types/nunjucks leaves out: the parser, and what the environment hands it.
interface NunjucksInternals {
  readonly parser: { parse(text: string, extensions: unknown, opts: unknown): unknown };
}
interface EnvironmentInternals {
  readonly extensionsList: unknown;
  readonly opts: unknown;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const LOCATION = /\[Line (\d+), Column (\d+)\]/;
const NOT_FOUND = /(template not found: )([^\n]*)/;
const UNDEFINED_OUTPUT = /attempted to output null or undefined value/;

// nunjucks reports parse errors with 1-based lines and columns, but render errors with its
// 0-based internal positions, and none at all for the first line.
function located(error: unknown, name: string, key: string | undefined, phase: 'parse' | 'render', text: string): TemplateError {
  const message = withoutComputedName(errorText(error), text);
  const m = LOCATION.exec(message);
  // Except an undefined value output (throwOnUndefined), whose position nunjucks gives 1-based.
  const undefinedOutput = UNDEFINED_OUTPUT.test(message);
  const shift = phase === 'render' && !undefinedOutput ? 1 : 0;
  // nunjucks puts "(name) [Line l, Column c]" on the first line and the cause after it.
  const cause = undefinedOutput
    ? 'undefined value (a name that is not defined, or a missing attribute); write `| default("")` where it may be absent'
    : message.split('\n').slice(1).join(' ').trim().replace(/^(Error|GoError|MissingKeyError): /, '') || message;
  const line = m === null ? (phase === 'render' ? 1 : undefined) : Number(m[1]) + shift;
  const column = m === null ? undefined : Number(m[2]) + shift;
  const where = line === undefined ? name : column === undefined ? `${name}:${line}` : `${name}:${line}:${column}`;
  return new TemplateError(`${where}: ${cause}`, { template: name, line, column, key });
}

// `{% include getv("/a") %}` makes a value the name of a template, and nunjucks prints the name
// it could not find: a name the template does not spell out is not printed.
function withoutComputedName(message: string, text: string): string {
  return message.replace(NOT_FOUND, (whole, head: string, missing: string) =>
    ['"', "'"].some((q) => text.includes(`${q}${missing}${q}`)) ? whole : `${head}a name computed by the template`,
  );
}

export function createNunjucksEngine(nunjucks: Nunjucks, world: ConfdWorld = createSystemWorld()): TemplateEngine {
  const env = new nunjucks.Environment([], { autoescape: false, throwOnUndefined: true, dev: true });
  return {
    name: 'nunjucks',
    compile(name: string, source: string | Uint8Array): CompiledTemplate {
      let text: string;
      try {
        text = typeof source === 'string' ? source : strictUtf8.decode(source);
      } catch {
        throw new TemplateError(`${name}: the template is not valid UTF-8 (nunjucks templates are text; the go engine takes any bytes)`, { template: name });
      }
      let template: nunjucksModule.Template;
      try {
        template = new nunjucks.Template(text, env, name, true);
      } catch (error) {
        throw located(error, name, undefined, 'parse', text);
      }
      // nunjucks keeps no syntax tree once it has compiled, so the text is parsed once more, but
      // only when someone asks: start-up compiles every template and rarely needs to know.
      let calls: { readonly names: ReadonlySet<string> | undefined } | undefined;
      return {
        encoding: 'utf8',
        get calls(): ReadonlySet<string> | undefined {
          if (calls === undefined) {
            const internals = env as unknown as EnvironmentInternals;
            const tree = (nunjucks as unknown as NunjucksInternals).parser.parse(text, internals.extensionsList, internals.opts);
            calls = { names: symbolsUsed(tree) };
          }
          return calls.names;
        },
        render(ctx: RenderContext): string {
          let missing: string | undefined;
          const confd = createConfdFunctions({ store: ctx.store, env: ctx.env, ...world });
          const remember = <A extends unknown[], R>(f: (...args: A) => R) =>
            (...args: A): R => {
              try {
                return f(...args);
              } catch (error) {
                if (error instanceof MissingKeyError) missing = error.key;
                throw error;
              }
            };
          const globals: Record<string, unknown> = {
            ...confd,
            getv: remember(confd.getv),
            get: remember(confd.get),
            ...ctx.extras,
          };
          try {
            return template.render(globals);
          } catch (error) {
            throw located(error, name, missing, 'render', text);
          }
        },
      };
    },
  };
}

export async function loadNunjucksEngine(): Promise<TemplateEngine> {
  const nunjucks = (await import('nunjucks')) as unknown as { default?: Nunjucks } & Nunjucks;
  return createNunjucksEngine(nunjucks.default ?? nunjucks);
}
