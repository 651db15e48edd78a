// The render thread, seen from PID 1's event loop: renders that cannot be shown to stay small
// (render-placement.ts) run in one worker thread (render-thread.ts), never on the thread that
// forwards signals, reaps and stops. Each render has a time limit and an output limit, and the
// thread a memory limit; a render over one of them, or one that steward's stop overtakes, ends
// with worker.terminate() and its stage file removed. The thread starts on the first render
// that needs it and exits after a while without one: a live thread keeps ~20 MB resident
// (docs/benchmarks.md).

import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { formatDuration } from '../config/values.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import { installRoot } from '../core/install-root.ts';
import type { EngineName, ExtraSnapshot } from '../render/index.ts';
import type { ThreadData } from './render-thread.ts';
import type { Current, Difference, Target } from './stage-and-swap.ts';

/** One render, as the thread receives it. */
export interface RenderJob {
  readonly id: number;
  readonly template: { readonly path: string; readonly engine: EngineName; readonly text: string | undefined };
  /** Only the keys the resource reads, named as its template sees them (byte strings). */
  readonly values: readonly (readonly [string, string])[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly extras: ExtraSnapshot;
  readonly maxBytes: number;
  readonly desired: { readonly dest: string; readonly mode: number | undefined; readonly uid: number | undefined; readonly gid: number | undefined };
  /** Where to stage a changed output; undefined for --noop, which gets the output back instead. */
  readonly stagePath: string | undefined;
  /** The digest check_cmd last rejected (when a check will run): that content is not staged again. */
  readonly rejectedDigest: string | undefined;
}

/** What the thread reports of one job. */
export type ThreadResult =
  | { readonly kind: 'template-error'; readonly message: string; readonly key: string | undefined; readonly template: string; readonly line: number | undefined }
  | { readonly kind: 'error'; readonly message: string }
  | { readonly kind: 'too-big' }
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'would-change'; readonly differences: readonly Difference[]; readonly current: Current; readonly after: Uint8Array; readonly mode: number }
  | { readonly kind: 'rejected-again'; readonly digest: string }
  | { readonly kind: 'staged'; readonly target: Target; readonly differences: readonly Difference[]; readonly digest: string }
  | { readonly kind: 'write-failed'; readonly message: string; readonly code: string | undefined };

export type ThreadMessage =
  /** The template is compiled and starts to run: the time limit starts now. */
  | { readonly id: number; readonly kind: 'started' }
  /** The template has run: the time limit no longer applies (writing the stage file is not rendering). */
  | { readonly id: number; readonly kind: 'rendered' }
  | { readonly id: number; readonly kind: 'done'; readonly result: ThreadResult };

export type RenderResult =
  | ThreadResult
  /** Over a limit, or the thread died: a failed render, with the reason. */
  | { readonly kind: 'killed'; readonly message: string }
  /** steward is stopping: the render was abandoned. */
  | { readonly kind: 'stopped' };

export interface RenderWorkerOptions {
  readonly timeoutMs: number;
  readonly maxBytes: number;
  /** Names of steward's functions (the Go engine must know them when it compiles). */
  readonly extraNames: readonly string[];
  readonly clock: Clock;
  /** How long the thread waits for another job before it exits. */
  readonly idleMs?: number;
  /** Called once an idle thread has exited. */
  readonly afterIdleExit?: () => void;
}

export interface RenderWorker {
  /** Renders in the thread; never rejects. An aborted `signal` ends the render at once. */
  run(job: Omit<RenderJob, 'id' | 'maxBytes'>, signal: AbortSignal): Promise<RenderResult>;
  /** Whether the thread is running now (tests, benchmarks). */
  readonly running: boolean;
  /** Ends the thread and every render, now and to come. */
  close(): Promise<void>;
}

const MIB = 1024 * 1024;
const DEFAULT_IDLE_MS = 2000;

/**
 * The thread's heap: room for an output of maxBytes as the engines build it (pieces, then the
 * joined string, then its bytes) and the engines themselves, below HEAP_SHARE of it.
 */
export function threadHeapMb(maxBytes: number): number {
  return Math.ceil((6 * maxBytes) / MIB) + 64;
}

/** The error of a render over STEWARD_RENDER_MAX_BYTES. */
export function tooBigMessage(maxBytes: number): string {
  return `the output is larger than STEWARD_RENDER_MAX_BYTES (${maxBytes} bytes)`;
}

// dist/ is CommonJS and has __dirname; the sources run as ESM in tests and benchmarks.
function threadEntry(): string {
  return typeof __dirname === 'string' ? join(__dirname, 'render-thread.js') : join(installRoot(), 'src', 'resources', 'render-thread.ts');
}

interface Pending {
  readonly job: RenderJob;
  readonly signal: AbortSignal;
  readonly settle: (result: RenderResult) => void;
}

/** How often, while a render runs, the thread's heap is looked at. */
const HEAP_CHECK_MS = 5;
/**
 * The share of the thread's heap limit at which its render is ended. V8 itself, at the limit,
 * gives a worker 16 MB of leeway to stop; an allocation larger than that then aborts the whole
 * process (PID 1) instead of the thread. A growing array's next backing store is 1.5 times the
 * last: ended at 40%, a heap that is all one array still has room for the next one. (The Go
 * engine's output limit, counted as the output grows, keeps its allocations small anyway.)
 */
const HEAP_SHARE = 0.4;

interface Running extends Pending {
  readonly worker: Worker;
  readonly heapCheck: NodeJS.Timeout;
  /** The time limit's timer, from the thread's word that the template runs until its word that it has run. */
  timer: TimerHandle | undefined;
}

export function createRenderWorker(o: RenderWorkerOptions): RenderWorker {
  const idleMs = o.idleMs ?? DEFAULT_IDLE_MS;
  const heapMb = threadHeapMb(o.maxBytes);
  const outOfMemory = `the render ran out of memory (the render thread may use ${heapMb} MB, set from STEWARD_RENDER_MAX_BYTES)`;
  const queue: Pending[] = [];
  let thread: Worker | undefined;
  let current: Running | undefined;
  let idle: NodeJS.Timeout | undefined;
  let nextId = 1;
  let closed = false;

  function start(): Worker {
    const data: ThreadData = { stewardRenderThread: true, extraNames: o.extraNames };
    const w = new Worker(threadEntry(), { workerData: data, resourceLimits: { maxOldGenerationSizeMb: heapMb }, stdout: false, stderr: false });
    w.on('message', (m: ThreadMessage) => {
      if (current?.worker !== w || m.id !== current.job.id) return;
      if (m.kind === 'started') {
        current.timer = o.clock.setTimer(o.timeoutMs, () => {
          void kill(w, { kind: 'killed', message: `the render took longer than STEWARD_RENDER_TIMEOUT (${formatDuration(o.timeoutMs)})` });
        });
      } else if (m.kind === 'rendered') {
        current.timer?.cancel();
        current.timer = undefined;
      } else if (m.result.kind === 'too-big') {
        // Its heap may still hold much of the output: a fresh thread is cheaper than keeping that.
        void kill(w, { kind: 'killed', message: tooBigMessage(o.maxBytes) });
      } else {
        finish(m.result);
      }
    });
    w.on('error', (error: Error & { code?: string }) => {
      const message = error.code === 'ERR_WORKER_OUT_OF_MEMORY' ? outOfMemory : `the render thread failed: ${error.message}`;
      void kill(w, { kind: 'killed', message });
    });
    w.on('exit', () => {
      if (thread === w) thread = undefined;
      if (current?.worker === w) void kill(w, { kind: 'killed', message: 'the render thread exited' });
    });
    return w;
  }

  function release(job: Running): void {
    job.timer?.cancel();
    clearInterval(job.heapCheck);
  }

  function finish(result: RenderResult): void {
    const job = current;
    if (job === undefined) return;
    current = undefined;
    release(job);
    job.settle(result);
    pump();
  }

  // Ends the thread (and so the render under way on it) and settles that render with `result`.
  async function kill(w: Worker, result: RenderResult): Promise<void> {
    if (thread === w) thread = undefined;
    const job = current?.worker === w ? current : undefined;
    if (job !== undefined) {
      current = undefined;
      release(job);
    }
    await w.terminate();
    if (job === undefined) return;
    // A stage file the thread may have begun: never left behind, never swapped in.
    if (job.job.stagePath !== undefined) await unlink(job.job.stagePath).catch(() => {});
    job.settle(result);
    pump();
  }

  function goIdle(): void {
    thread?.unref();
    if (closed || thread === undefined || idle !== undefined) return;
    // Not on the clock: an idle thread's exit is housekeeping, and must not keep the process up.
    idle = setTimeout(() => {
      idle = undefined;
      if (current === undefined && thread !== undefined) void kill(thread, { kind: 'stopped' }).then(() => o.afterIdleExit?.());
    }, idleMs);
    idle.unref();
  }

  function pump(): void {
    if (current !== undefined) return;
    const next = queue.shift();
    if (next === undefined) return goIdle();
    clearTimeout(idle);
    idle = undefined;
    if (next.signal.aborted || closed) {
      next.settle({ kind: 'stopped' });
      pump();
      return;
    }
    const w = (thread ??= start());
    // Held while a render is under way (the process must wait for it), let go when idle.
    w.ref();
    const onAbort = (): void => {
      if (current?.job === next.job) void kill(w, { kind: 'stopped' });
    };
    next.signal.addEventListener('abort', onAbort, { once: true });
    // getHeapStatistics interrupts the thread's JavaScript, so it answers while a template runs.
    const heapCheck = setInterval(() => {
      w.getHeapStatistics().then(
        (h) => {
          if (current?.worker === w && h.used_heap_size > HEAP_SHARE * h.heap_size_limit) void kill(w, { kind: 'killed', message: outOfMemory });
        },
        () => {},
      );
    }, HEAP_CHECK_MS);
    heapCheck.unref();
    current = {
      job: next.job,
      signal: next.signal,
      worker: w,
      heapCheck,
      timer: undefined,
      settle: (result) => {
        next.signal.removeEventListener('abort', onAbort);
        next.settle(result);
      },
    };
    w.postMessage(next.job);
  }

  return {
    get running() {
      return thread !== undefined;
    },
    run(job, signal) {
      if (closed) return Promise.resolve({ kind: 'stopped' });
      return new Promise((settle) => {
        queue.push({ job: { ...job, id: nextId++, maxBytes: o.maxBytes }, signal, settle });
        pump();
      });
    },
    async close() {
      closed = true;
      clearTimeout(idle);
      idle = undefined;
      for (const p of queue.splice(0)) p.settle({ kind: 'stopped' });
      if (thread !== undefined) await kill(thread, { kind: 'stopped' });
    },
  };
}
