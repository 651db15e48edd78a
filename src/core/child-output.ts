// A child's stdout and stderr, line by line, into steward's log: info for stdout, warn for
// stderr, each record naming the child's kind, its name and the stream (docs/logs.md, "child
// output"). A line is capped at MAX_LINE_BYTES; one longer is cut there and marked, and the rest of
// it, up to its newline, is skipped without being held in memory. At most LINES_PER_SECOND lines
// of one source are kept in each one-second window; the lines dropped are counted and the count
// is logged when the window ends (or when the output does).

import type { ChildSource } from './child-rule.ts';
import type { Clock, TimerHandle } from './clock.ts';
import type { Logger } from './log.ts';

export type Stream = 'stdout' | 'stderr';

export const MAX_LINE_BYTES = 8192;
export const LINES_PER_SECOND = 100;
const WINDOW_MS = 1000;

export interface OutputCapture {
  /** A chunk of text as the stream gave it (utf8). */
  write(stream: Stream, chunk: string): void;
  /** The streams are over: partial last lines are logged, and the dropped count if any. */
  end(): void;
}

interface StreamState {
  partial: string;
  /** The current line was already cut at the cap: the rest of it is skipped. */
  skipping: boolean;
}

/** `text` cut to at most `bytes` bytes of utf8, never in the middle of a character. */
function capBytes(text: string, bytes: number): string {
  if (Buffer.byteLength(text, 'utf8') <= bytes) return text;
  const cut = Buffer.from(text, 'utf8').subarray(0, bytes).toString('utf8');
  // A character split by the cut decodes as U+FFFD: leave it out.
  return cut.endsWith('\uFFFD') ? cut.slice(0, -1) : cut;
}

export function createOutputCapture(o: { source: ChildSource; log: Logger; clock: Clock }): OutputCapture {
  const fields = { child: o.source.kind, name: o.source.name };
  const streams: Record<Stream, StreamState> = { stdout: { partial: '', skipping: false }, stderr: { partial: '', skipping: false } };
  let windowStart: number | undefined;
  let kept = 0;
  let dropped = 0;
  let windowTimer: TimerHandle | undefined;

  function reportDropped(): void {
    windowTimer?.cancel();
    windowTimer = undefined;
    if (dropped === 0) return;
    o.log.warn(`${o.source.kind} ${o.source.name}: ${dropped} line${dropped === 1 ? '' : 's'} of output dropped (more than ${LINES_PER_SECOND} a second)`, {
      ...fields,
      dropped,
    });
    dropped = 0;
  }

  function admit(): boolean {
    const now = o.clock.monotonic();
    if (windowStart === undefined || now - windowStart >= WINDOW_MS) {
      reportDropped();
      windowStart = now;
      kept = 0;
    }
    if (kept < LINES_PER_SECOND) {
      kept++;
      return true;
    }
    dropped++;
    // The count is told when the window ends, even if no further line comes to close it.
    windowTimer ??= o.clock.setTimer(windowStart + WINDOW_MS - now, reportDropped);
    return false;
  }

  function emit(stream: Stream, line: string, truncated: boolean): void {
    if (!admit()) return;
    const record = truncated ? { ...fields, stream, truncated: true } : { ...fields, stream };
    if (stream === 'stdout') o.log.info(line, record);
    else o.log.warn(line, record);
  }

  function write(stream: Stream, chunk: string): void {
    const state = streams[stream];
    const pieces = chunk.split('\n');
    const last = pieces.pop() ?? '';
    for (const piece of pieces) {
      if (state.skipping) {
        state.skipping = false;
        state.partial = '';
        continue;
      }
      const line = (state.partial + piece).replace(/\r$/, '');
      state.partial = '';
      const capped = capBytes(line, MAX_LINE_BYTES);
      emit(stream, capped, capped.length < line.length);
    }
    if (state.skipping) return;
    state.partial += last;
    // A line with no newline in sight is cut at the cap now rather than held whole.
    if (Buffer.byteLength(state.partial, 'utf8') > MAX_LINE_BYTES) {
      emit(stream, capBytes(state.partial, MAX_LINE_BYTES), true);
      state.partial = '';
      state.skipping = true;
    }
  }

  return {
    write,
    end() {
      for (const stream of ['stdout', 'stderr'] as const) {
        const state = streams[stream];
        if (!state.skipping && state.partial !== '') emit(stream, state.partial.replace(/\r$/, ''), false);
        state.partial = '';
        state.skipping = false;
      }
      reportDropped();
    },
  };
}
