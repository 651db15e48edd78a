// What the benchmarks share: reading a child's stdout line by line, percentiles, a run's length
// from its arguments, a free port.

import { createServer } from 'node:net';
import type { Readable } from 'node:stream';

/** Returns a function that resolves with the stream's next line (lines read earlier wait in order). */
export function lineQueue(stream: Readable | null): () => Promise<string> {
  const lines: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  let partial = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (chunk: string) => {
    partial += chunk;
    let nl: number;
    while ((nl = partial.indexOf('\n')) !== -1) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      const w = waiting.shift();
      if (w) w(line);
      else lines.push(line);
    }
  });
  return () => {
    const line = lines.shift();
    return line !== undefined ? Promise.resolve(line) : new Promise((resolve) => waiting.push(resolve));
  };
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** `--minutes N` or `--seconds N` from a benchmark's arguments, else `defaultMs`. */
export function durationMs(argv: readonly string[], defaultMs: number): number {
  const i = argv.indexOf('--minutes');
  if (i !== -1) return Number(argv[i + 1]) * 60_000;
  const s = argv.indexOf('--seconds');
  return s === -1 ? defaultMs : Number(argv[s + 1]) * 1000;
}

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      server.close(() => resolve(typeof a === 'object' && a !== null ? a.port : 0));
    });
  });
}
