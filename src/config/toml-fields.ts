// Typed reading of a TOML table ([template], [job.x], ...): each field has a small parser that
// names the file and field in its error. Written here rather than with zod because zod stays
// resident for the life of the process once loaded (measured: +8 MB RSS, about a tenth of an
// idle steward rendering 1,000 resources), and a table of a dozen scalar fields needs little.

import { ConfigError } from '../core/exit-codes.ts';

export interface Field<T> {
  /** What the field takes, for error messages. */
  readonly expected: string;
  accept(value: unknown): value is T;
}

function field<T>(expected: string, accept: (value: unknown) => boolean): Field<T> {
  return { expected, accept: accept as (value: unknown) => value is T };
}

export const text: Field<string> = field('a string', (v) => typeof v === 'string');
export const integer: Field<number> = field('an integer', (v) => typeof v === 'number' && Number.isInteger(v));
export const flag: Field<boolean> = field('true or false', (v) => typeof v === 'boolean');
export const texts: Field<string[]> = field('an array of strings', (v) => Array.isArray(v) && v.every((x) => typeof x === 'string'));
export const textOrTexts: Field<string | string[]> = field('a string or an array of strings', (v) => typeof v === 'string' || (Array.isArray(v) && v.every((x) => typeof x === 'string')));
export const textOrInteger: Field<string | number> = field('a string or an integer', (v) => typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v)));

export function oneOf<T extends string>(...choices: T[]): Field<T> {
  return field(`one of ${choices.map((c) => JSON.stringify(c)).join(', ')}`, (v) => typeof v === 'string' && (choices as string[]).includes(v));
}

type Values<S extends Record<string, Field<unknown>>> = { [K in keyof S]?: S[K] extends Field<infer T> ? T : never };

/**
 * The fields of `table` that `spec` names, checked; a field of the wrong type is a ConfigError
 * naming `where` and the field. Keys `spec` does not name are passed to `onUnknown`.
 */
export function readFields<S extends Record<string, Field<unknown>>>(
  table: Readonly<Record<string, unknown>>,
  spec: S,
  where: string,
  onUnknown: (key: string) => void,
): Values<S> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(table)) {
    const f = spec[key];
    if (f === undefined) {
      onUnknown(key);
      continue;
    }
    if (!f.accept(value)) {
      throw new ConfigError(`${where}: ${key} must be ${f.expected}, not ${JSON.stringify(value)}`);
    }
    out[key] = value;
  }
  return out as Values<S>;
}
