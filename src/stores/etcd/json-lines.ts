// The framing of the gateway's streamed answers: one JSON object per line, in chunks cut anywhere
// (a line may span chunks, a chunk may hold many lines, a multi-byte character may be split).

import { StringDecoder } from 'node:string_decoder';
import type { Json } from './gateway-json.ts';

export interface JsonLines {
  /** The complete objects the chunk finished, in order; a line that is not a JSON object throws. */
  push(chunk: Buffer): Json[];
  /** Bytes of a line not finished yet. */
  readonly pending: number;
}

export function jsonLines(): JsonLines {
  const decoder = new StringDecoder('utf8');
  let partial = '';
  return {
    push(chunk) {
      partial += decoder.write(chunk);
      const out: Json[] = [];
      let nl: number;
      while ((nl = partial.indexOf('\n')) !== -1) {
        const line = partial.slice(0, nl).trim();
        partial = partial.slice(nl + 1);
        if (line === '') continue;
        const parsed: unknown = JSON.parse(line);
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new SyntaxError(`not a JSON object: ${line.slice(0, 80)}`);
        out.push(parsed as Json);
      }
      return out;
    },
    get pending() {
      return partial.length;
    },
  };
}
