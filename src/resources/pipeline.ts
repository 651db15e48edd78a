// One template resource, from the cached key values to a file on disk: values -> render ->
// compare -> stage -> check -> swap. Each step's failure is a typed outcome that leaves the last
// good file in place; nothing here throws past `processResource`.

import { createHash } from 'node:crypto';
import type { Logger } from '../core/log.ts';
import { runCommand } from '../core/exec.ts';
import { goPathJoin, storeFor, TemplateError, type CompiledTemplate, type ExtraFunctions } from '../render/index.ts';
import type { KeyCache } from './key-cache.ts';
import type { TemplateResource } from './resource.ts';
import { inspect, stageAndSwap, type Current, type Difference, type InstallTurn } from './stage-and-swap.ts';
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

export function render(resource: TemplateResource, template: CompiledTemplate, ctx: PipelineContext): Buffer | ResourceOutcome {
  const values = resourceValues(resource, ctx);
  try {
    // Values are byte strings; the Go engine renders bytes (encoding 'latin1'), nunjucks text.
    const store = storeFor(template, values, (key) => goPathJoin(resource.prefix, key));
    return Buffer.from(template.render({ store, env: ctx.env, extras: ctx.extras }), template.encoding);
  } catch (error) {
    // Nothing a value holds may reach a log: errors name keys instead (value-free-errors.ts).
    if (error instanceof TemplateError && error.key !== undefined) {
      const absolute = goPathJoin(resource.prefix, error.key);
      const key = printableMissingKey(resource, error.key, absolute, (k) => resourceUses(resource, k, ctx.covers), error);
      return { kind: 'missing-key', key, message: key === absolute ? error.message : error.message.replaceAll(`key does not exist: ${error.key}`, `key does not exist: ${key}`) };
    }
    const named = new Map([...values].map(([k, v]) => [goPathJoin(resource.prefix, k), v]));
    return { kind: 'render-failed', message: withoutValues(errorText(error), named) };
  }
}

export async function processResource(resource: TemplateResource, template: CompiledTemplate, ctx: PipelineContext): Promise<ResourceOutcome> {
  const content = render(resource, template, ctx);
  if (!Buffer.isBuffer(content)) return content;
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
  if (resource.checkCmd !== undefined && !ctx.syncOnly && digest === ctx.rejectedDigest) {
    return { kind: 'check-failed', message: 'check_cmd already rejected this content', output: '', digest, repeated: true };
  }
  const check =
    resource.checkCmd === undefined || ctx.syncOnly
      ? undefined
      : async (stagePath: string) => {
          const result = await runCommand(
            { shell: checkCommandFor(resource, stagePath) },
            { source: { kind: 'check_cmd', name: resource.name }, log: ctx.log, timeoutMs: ctx.commandTimeoutMs, env: ctx.env },
          );
          return { ok: result.ok, failure: result.failure, output: result.output };
        };
  const swapped = await stageAndSwap(desired, inspection, { check, keepStageFile: ctx.keepStageFile, turn: ctx.installTurn });
  switch (swapped.kind) {
    case 'written':
      return swapped;
    case 'check-failed':
      return { kind: 'check-failed', message: `check_cmd failed (${swapped.failure})`, output: swapped.output, digest };
    case 'error':
      return { kind: 'write-failed', message: swapped.message, code: swapped.code };
  }
}
