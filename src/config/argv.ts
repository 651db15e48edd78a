// `steward [options] [--] <command> [args...]`. Options end at the first word that is not an
// option, so `steward prometheus -config.file=x` needs no `--` (confd-sidecar users write that).

import { UsageError } from '../core/exit-codes.ts';
import { OPTIONS, type OptionKey } from './options.ts';

export interface ParsedArgv {
  /** Raw option values from the command line, keyed by option. */
  readonly given: ReadonlyMap<OptionKey, string>;
  /** The app's command and its arguments (empty when none was given). */
  readonly command: readonly string[];
}

const SHORT: Readonly<Record<string, OptionKey>> = { '-h': 'help', '-V': 'version' };

const BY_FLAG: ReadonlyMap<string, OptionKey> = new Map(
  (Object.keys(OPTIONS) as OptionKey[]).map((key) => [OPTIONS[key].flag, key]),
);

export function parseArgv(argv: readonly string[]): ParsedArgv {
  const given = new Map<OptionKey, string>();
  let i = 0;
  for (; i < argv.length; i++) {
    const word = argv[i] ?? '';
    if (word === '--') {
      i++;
      break;
    }
    if (!word.startsWith('-') || word === '-') break;
    const short = SHORT[word];
    if (short !== undefined) {
      given.set(short, 'true');
      continue;
    }
    if (!word.startsWith('--')) {
      throw new UsageError(`unknown option ${word} (options are long: --name or --name=value; see steward --help)`);
    }
    const eq = word.indexOf('=');
    let name = eq === -1 ? word.slice(2) : word.slice(2, eq);
    const inline = eq === -1 ? undefined : word.slice(eq + 1);
    let negated = false;
    if (!BY_FLAG.has(name) && name.startsWith('no-') && BY_FLAG.has(name.slice(3))) {
      name = name.slice(3);
      negated = true;
    }
    const key = BY_FLAG.get(name);
    if (key === undefined) throw new UsageError(`unknown option --${name} (see steward --help)`);
    const takesValue = OPTIONS[key].valueHint !== undefined;
    if (negated) {
      if (takesValue || inline !== undefined) throw new UsageError(`--no-${name} takes no value`);
      given.set(key, 'false');
    } else if (!takesValue) {
      given.set(key, inline ?? 'true');
    } else if (inline !== undefined) {
      given.set(key, inline);
    } else {
      const value = argv[i + 1];
      if (value === undefined) throw new UsageError(`--${name} needs a value (${OPTIONS[key].valueHint})`);
      given.set(key, value);
      i++;
    }
  }
  return { given, command: argv.slice(i) };
}
