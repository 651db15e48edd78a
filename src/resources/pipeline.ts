// One template resource, from the cached key values to a file on disk: values -> render ->
// compare -> stage -> check -> swap. Each step's failure is a typed outcome that leaves the last
// good file in place; nothing here throws past `processResource`. A render that is not shown to
// stay small (render-placement.ts) runs in the render thread, which also compares and stages
// (render-thread.ts); check_cmd and the swap are always here.

import { createHash } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import type { Logger } from '../core/log.ts';
import { runCommand } from '../core/exec.ts';
import { goPathJoin, RenderLimitError, snapshotExtras, storeFor, TemplateError, type CompiledTemplate, type ExtraFunctions } from '../render/index.ts';
import type { KeyCache } from './key-cache.ts';
import { INLINE_MAX_BYTES, sliceExpired, type Placement } from './render-placement.ts';
import { tooBigMessage, type RenderWorker } from './render-worker.ts';
import type { TemplateResource } from './resource.ts';
import { checkAndSwap, inspect, stageAndSwap, stagePathFor, type Current, type Difference, type InstallTurn, type SwapOptions, type SwapOutcome } from './stage-and-swap.ts';
import { errorText } from '../core/error-text.ts';
import { printableMissingKey, withoutValues } from './value-free-errors.ts';

export type ResourceOutcome =
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'written'; readonly differences: readonly Difference[]; readonly inPlace: boolean }
  /** --noop: what would have been written. */
  | { readonly kind: 'would-change'; readonly differences: readonly Difference[]; readonly current: Current; readonly after: Buffer; readonly mode: number }
  | { readonly kind: 'missing-key'; readonly key: string; readonly message: string }
  | { readonly kind: 'render-failed'; readonly message: string }
  /** `digest`: of the content rejected; `repeated`: rejected before, so check_cmd did not run again. */
  | { readonly kind: 'check-failed'; readonly message: string; readonly output: string; readonly digest: string; readonly repeated?: boolean }
  /** `code`: the errno code when the system refused (see write-retries.ts). */
  | { readonly kind: 'write-failed'; readonly message: string; readonly code: string | undefined };

export interface PipelineContext {
  readonly cache: KeyCache;
  /** The backend's matching rule (see Backend.covers). */
  readonly covers: (requested: string, key: string) => boolean;
  /** Whether `covers` only ever narrows a plain string prefix (true except for env). */
  readonly prefixIndexed: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly extras: ExtraFunctions;
  readonly commandTimeoutMs: number;
  readonly keepStageFile: boolean;
  readonly syncOnly: boolean;
  readonly noop: boolean;
  readonly log: Logger;
  /** The digest of the content check_cmd last rejected for this resource, if any. */
  readonly rejectedDigest?: string | undefined;
  /** A restart resource's rollout (src/rollout/): the checked file waits for its turn to be installed. */
  readonly installTurn?: (() => Promise<InstallTurn | undefined>) | undefined;
  readonly renderer: Renderer;
}

/** The resource's keys as its template sees them: prefix stripped, as confd's setVars does. */
export function resourceValues(resource: TemplateResource, ctx: PipelineContext): Map<string, string> {
  const values = new Map<string, string>();
  for (const requested of resource.backendKeys) {
    const candidates = ctx.prefixIndexed ? ctx.cache.withPrefix(requested) : ctx.cache.entries();
    for (const [key, value] of candidates) {
      if (!ctx.covers(requested, key)) continue;
      const relative = key.startsWith(resource.prefix) ? key.slice(resource.prefix.length) : key;
      values.set(goPathJoin('/', relative), value);
    }
  }
  return values;
}

/** Whether a change of `key` concerns this resource. */
export function resourceUses(resource: TemplateResource, key: string, covers: PipelineContext['covers']): boolean {
  return resource.backendKeys.some((requested) => covers(requested, key));
}

/** confd runs check_cmd as a Go template whose only field is .src; a nunjucks resource writes {{ src }}. */
export function checkCommandFor(resource: TemplateResource, stagePath: string): string {
  const command = resource.checkCmd ?? '';
  const pattern = resource.engine === 'go' ? /\{\{-?\s*\.src\s*-?\}\}/g : /\{\{-?\s*src\s*-?\}\}/g;
  return command.replace(pattern, stagePath);
}

/** Where renders run and what bounds them (render-placement.ts, render-worker.ts). */
export interface Renderer {
  readonly worker: RenderWorker;
  readonly placement: Placement;
  /** STEWARD_RENDER_MAX_BYTES. */
  readonly maxBytes: number;
  /** Aborted when steward stops: a render under way is abandoned, nothing more is swapped in. */
  readonly signal: AbortSignal;
}

/** A render's error, from this thread or the render thread. */
type RenderError =
  | { readonly kind: 'template-error'; readonly message: string; readonly key: string | undefined; readonly template: string; readonly line: number | undefined }
  | { readonly kind: 'error'; readonly message: string };

function asRenderError(error: unknown): RenderError {
  if (error instanceof TemplateError) return { kind: 'template-error', message: error.message, key: error.key, template: error.template, line: error.line };
  return { kind: 'error', message: errorText(error) };
}

// Nothing a value holds may reach a log: errors name keys instead (value-free-errors.ts).
function failedRender(resource: TemplateResource, error: RenderError, values: ReadonlyMap<string, string>, ctx: PipelineContext): ResourceOutcome {
  if (error.kind === 'template-error' && error.key !== undefined) {
    const absolute = goPathJoin(resource.prefix, error.key);
    const key = printableMissingKey(resource, error.key, absolute, (k) => resourceUses(resource, k, ctx.covers), error);
    return { kind: 'missing-key', key, message: key === absolute ? error.message : error.message.replaceAll(`key does not exist: ${error.key}`, `key does not exist: ${key}`) };
  }
  const named = new Map([...values].map(([k, v]) => [goPathJoin(resource.prefix, k), v]));
  return { kind: 'render-failed', message: withoutValues(error.message, named) };
}

/** A render on this thread, in a slice it cannot overrun; 'cut-off' when it would have. */
function renderInline(resource: TemplateResource, template: CompiledTemplate, values: ReadonlyMap<string, string>, ctx: PipelineContext): Buffer | ResourceOutcome | 'cut-off' {
  const { maxBytes } = ctx.renderer;
  const cap = Math.min(maxBytes, INLINE_MAX_BYTES);
  try {
    // Values are byte strings; the Go engine renders bytes (encoding 'latin1').
    const store = storeFor(template, values, (key) => goPathJoin(resource.prefix, key));
    return Buffer.from(template.render({ store, env: ctx.env, extras: ctx.extras, limits: { maxBytes: cap, expired: sliceExpired() } }), template.encoding);
  } catch (error) {
    if (!(error instanceof RenderLimitError)) return failedRender(resource, asRenderError(error), values, ctx);
    if (error.limit === 'bytes' && cap === maxBytes) return { kind: 'render-failed', message: tooBigMessage(maxBytes) };
    return 'cut-off';
  }
}

async function renderInThread(resource: TemplateResource, values: ReadonlyMap<string, string>, ctx: PipelineContext): Promise<ResourceOutcome> {
  const stagePath = ctx.noop ? undefined : stagePathFor(resource.dest);
  const result = await ctx.renderer.worker.run(
    {
      template: { path: resource.src, engine: resource.engine, text: resource.templateText },
      values: [...values],
      env: { ...ctx.env },
      extras: snapshotExtras(ctx.extras),
      desired: { dest: resource.dest, mode: resource.mode, uid: resource.uid, gid: resource.gid },
      stagePath,
      rejectedDigest: checks(resource, ctx) ? ctx.rejectedDigest : undefined,
    },
    ctx.renderer.signal,
  );
  switch (result.kind) {
    case 'template-error':
    case 'error':
      return failedRender(resource, result, values, ctx);
    case 'too-big':
      return { kind: 'render-failed', message: tooBigMessage(ctx.renderer.maxBytes) };
    case 'killed':
      return { kind: 'render-failed', message: result.message };
    case 'stopped':
      return { kind: 'render-failed', message: 'steward is stopping: the render was abandoned' };
    case 'unchanged':
      return result;
    case 'write-failed':
      // A stage file the thread began and could not finish.
      if (stagePath !== undefined && !ctx.keepStageFile) await unlink(stagePath).catch(() => {});
      return result;
    case 'would-change': {
      // Buffers cross threads as plain Uint8Arrays.
      const current = result.current.kind === 'file' && result.current.content !== undefined ? { ...result.current, content: asBuffer(result.current.content) } : result.current;
      return { ...result, current, after: asBuffer(result.after) };
    }
    case 'rejected-again':
      return rejectedAgain(result.digest);
    case 'staged':
      return checkedAndSwapped(resource, ctx, result.digest, (options) => checkAndSwap(resource.dest, stagePath ?? '', result, options));
  }
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function checks(resource: TemplateResource, ctx: PipelineContext): boolean {
  return resource.checkCmd !== undefined && !ctx.syncOnly;
}

function rejectedAgain(digest: string): ResourceOutcome {
  return { kind: 'check-failed', message: 'check_cmd already rejected this content', output: '', digest, repeated: true };
}

/** check_cmd, then the swap, as an outcome. */
async function checkedAndSwapped(resource: TemplateResource, ctx: PipelineContext, digest: string, swap: (options: SwapOptions) => Promise<SwapOutcome>): Promise<ResourceOutcome> {
  const check = !checks(resource, ctx)
    ? undefined
    : async (stagePath: string) => {
        const result = await runCommand(
          { shell: checkCommandFor(resource, stagePath) },
          { source: { kind: 'check_cmd', name: resource.name }, log: ctx.log, timeoutMs: ctx.commandTimeoutMs, env: ctx.env },
        );
        return { ok: result.ok, failure: result.failure, output: result.output };
      };
  const swapped = await swap({ check, keepStageFile: ctx.keepStageFile, signal: ctx.renderer.signal, turn: ctx.installTurn });
  switch (swapped.kind) {
    case 'written':
      return swapped;
    case 'check-failed':
      return { kind: 'check-failed', message: `check_cmd failed (${swapped.failure})`, output: swapped.output, digest };
    case 'error':
      return { kind: 'write-failed', message: swapped.message, code: swapped.code };
  }
}

/** What was rendered on this thread, compared, staged, checked and swapped in. */
async function written(resource: TemplateResource, content: Buffer, ctx: PipelineContext): Promise<ResourceOutcome> {
  const desired = { dest: resource.dest, content, mode: resource.mode, uid: resource.uid, gid: resource.gid };
  let inspection;
  try {
    inspection = await inspect(desired);
  } catch (error) {
    return { kind: 'write-failed', message: `cannot read ${resource.dest}: ${(error as Error).message}`, code: (error as NodeJS.ErrnoException).code };
  }
  if (inspection.differences.length === 0) return { kind: 'unchanged' };
  if (ctx.noop) {
    return { kind: 'would-change', differences: inspection.differences, current: inspection.current, after: content, mode: inspection.target.mode };
  }
  // A check_cmd that rejected this very content would reject it again: it waits for a change.
  const digest = createHash('sha256').update(content).digest('hex');
  if (checks(resource, ctx) && digest === ctx.rejectedDigest) return rejectedAgain(digest);
  return checkedAndSwapped(resource, ctx, digest, (options) => stageAndSwap(desired, inspection, options));
}

/** Renders `resource` (here when it is shown to stay small, else in the render thread) and installs the result. */
export async function processResource(resource: TemplateResource, template: CompiledTemplate, ctx: PipelineContext): Promise<ResourceOutcome> {
  const values = resourceValues(resource, ctx);
  const { placement } = ctx.renderer;
  if (placement.inline(resource, template, values)) {
    const content = renderInline(resource, template, values, ctx);
    if (content !== 'cut-off') return Buffer.isBuffer(content) ? written(resource, content, ctx) : content;
    placement.cutOff(resource);
  }
  return renderInThread(resource, values, ctx);
}
