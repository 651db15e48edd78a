// How Go functions look to the executor: typed parameters (arguments are converted and
// checked as text/template does with reflect), one result, errors thrown as GoError. `C` is
// what a dialect's functions read at execution (confd's: the key store, env, clock, DNS).

import type { GoType, GoValue } from './value.ts';

export interface GoFunc<C = unknown> {
  /** Fixed parameters. */
  readonly params: readonly GoType[];
  /** Element type of a final ...T parameter. */
  readonly variadic?: GoType;
  readonly call: (args: GoValue[], ctx: C) => GoValue;
}

/** A dialect: the functions its templates may call, by name, besides text/template's builtins. */
export type GoFunctions<C> = ReadonlyMap<string, GoFunc<C>>;
