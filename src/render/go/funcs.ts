// How Go functions look to the executor: typed parameters (arguments are converted and
// checked as text/template does with reflect), one result, errors thrown as GoCallError.

import type { ConfdContext } from '../confd/functions.ts';
import type { ExtraFunctions } from '../engine.ts';
import type { GoType, GoValue } from './value.ts';

export interface RunContext {
  readonly confd: ConfdContext;
  readonly extras: ExtraFunctions;
}

export interface GoFunc {
  /** Fixed parameters. */
  readonly params: readonly GoType[];
  /** Element type of a final ...T parameter. */
  readonly variadic?: GoType;
  readonly call: (args: GoValue[], rc: RunContext) => GoValue;
}

/** An error returned (or a panic raised) by a function; the message is Go's error text. */
export class GoCallError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GoCallError';
  }
}
