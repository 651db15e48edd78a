// The client's flags. They are flags, not words, because a bare word is the app's command; they
// exist only on the command line (no STEWARD_ variable could turn a steward into a client).

import { UsageError } from '../core/exit-codes.ts';
import type { ControlRequest } from './protocol.ts';

export interface ClientInvocation {
  readonly request: ControlRequest;
  /** --status --json */
  readonly json: boolean;
  /** --control-socket PATH, if given. */
  readonly socket: string | undefined;
}

const COMMANDS = new Set(['--health', '--status', '--reload', '--run-job', '--rollout-release', '--maintenance']);

function onOff(flag: string, word: string): boolean {
  if (word === 'on' || word === 'off') return word === 'on';
  throw new UsageError(`${flag} takes on or off, not ${JSON.stringify(word)}`);
}

/** Undefined when argv is not a client invocation (no client flag before the first non-option). */
export function parseClientArgv(argv: readonly string[]): ClientInvocation | undefined {
  const head: string[] = [];
  for (const word of argv) {
    if (word === '--' || !word.startsWith('-')) break;
    head.push(word);
  }
  if (!head.some((w) => COMMANDS.has(w.split('=')[0] ?? ''))) return undefined;
  let request: ControlRequest | undefined;
  let json = false;
  let socket: string | undefined;
  const set = (r: ControlRequest) => {
    if (request !== undefined) throw new UsageError(`give one of ${[...COMMANDS].join(', ')}`);
    request = r;
  };
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] ?? '';
    const [flag = '', inline] = word.includes('=') ? [word.slice(0, word.indexOf('=')), word.slice(word.indexOf('=') + 1)] : [word, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new UsageError(`${flag} needs a value`);
      return v;
    };
    if (flag === '--health' || flag === '--status' || flag === '--reload' || flag === '--rollout-release') set({ command: flag.slice(2) as 'health' });
    else if (flag === '--run-job') set({ command: 'run-job', job: value() });
    else if (flag === '--maintenance') set({ command: 'maintenance', on: onOff(flag, value()) });
    else if (flag === '--json') json = true;
    else if (flag === '--control-socket') socket = value();
    else throw new UsageError(`${word} cannot be given with ${[...COMMANDS].filter((c) => head.includes(c)).join(' ')} (the client takes --json and --control-socket only)`);
  }
  if (request === undefined) throw new UsageError('no client command');
  if (json && request.command !== 'status') throw new UsageError('--json goes with --status');
  return { request, json, socket };
}
