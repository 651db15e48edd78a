// Where one render runs: on PID 1's own thread, or in the render thread (render-worker.ts).
//
// A thread's start costs 50-400 ms and leaves about 10 MB resident even after it has exited,
// while most renders take well under a millisecond (docs/benchmarks.md). So a Go template is
// first rendered here, in a slice it cannot overrun: the engine looks at the time every 256
// nodes and at its output as it grows, and gives up at INLINE_SLICE_MS or INLINE_MAX_BYTES. A
// render cut off that way is done again in the thread, under the full limits, and that resource
// renders in the thread for a while (CUT_OFF_MS) before it is tried here again.
//
// What a slice cannot interrupt is one function call. Calls over the values are bounded by the
// values' size (INLINE_MAX_INPUT); seq's cost is a count, which a value may set, so a template
// calling it renders in the thread. nunjucks compiles to JavaScript that cannot be interrupted:
// its templates always render in the thread.

import type { Clock } from '../core/clock.ts';
import type { CompiledTemplate } from '../render/index.ts';
import type { TemplateResource } from './resource.ts';

export const INLINE_SLICE_MS = 20;
export const INLINE_MAX_BYTES = 4 * 1024 * 1024;
export const INLINE_MAX_INPUT = 1024 * 1024;
const CUT_OFF_MS = 5 * 60_000;
/** Functions whose one call may take long whatever the values' size. */
const UNBOUNDED_CALLS = ['seq'];

export interface Placement {
  /** Whether this render of `resource` is tried on the main thread first. */
  inline(resource: TemplateResource, template: CompiledTemplate, values: ReadonlyMap<string, string>): boolean;
  /** A render of `resource` on the main thread was cut off: the thread takes it for a while. */
  cutOff(resource: TemplateResource): void;
}

function inputSize(values: ReadonlyMap<string, string>): number {
  let size = 0;
  for (const [key, value] of values) size += key.length + value.length;
  return size;
}

export function createPlacement(clock: Clock): Placement {
  const cut = new WeakMap<TemplateResource, number>();
  return {
    inline(resource, template, values) {
      if (template.encoding !== 'latin1' || template.calls === undefined) return false;
      if (UNBOUNDED_CALLS.some((f) => template.calls?.has(f) === true)) return false;
      const since = cut.get(resource);
      if (since !== undefined && clock.monotonic() - since < CUT_OFF_MS) return false;
      return inputSize(values) <= INLINE_MAX_INPUT;
    },
    cutOff(resource) {
      cut.set(resource, clock.monotonic());
    },
  };
}

/** A slice's deadline on the process's own clock: it measures work the main thread is doing, which a test's clock cannot stand for. */
export function sliceExpired(ms = INLINE_SLICE_MS): () => boolean {
  const end = process.hrtime.bigint() + BigInt(ms) * 1_000_000n;
  return () => process.hrtime.bigint() > end;
}
