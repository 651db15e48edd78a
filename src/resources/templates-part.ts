// The configuration part: before the app starts, every template resource is rendered from the
// backend and passes its check (waiting for keys that do not exist yet); afterwards a change to
// a key re-renders only the resources that use it, after their quiescence, and a file that
// really changed makes the app reload (SIGHUP by default), once per burst of changes.
//
// Following one key change: backend watch -> onUpdate (KeyCache.apply says which keys changed)
// -> the resources that use them are triggered (quiescence.ts) -> processResource (pipeline.ts:
// render, compare, stage, check, swap) -> queueReload -> bus 'app.reload' -> init/supervisor.ts
// sends the signal.

import { readFileSync } from 'node:fs';
import type { Backend, BackendStatus, Cursor, Update } from '../backends/backend.ts';
import { createBackend, preloadBackend } from '../backends/select.ts';
import type { Settings } from '../config/options.ts';
import { formatDuration, type SignalName } from '../config/values.ts';
import { exponentialBackoff, sleep } from '../core/process-control/backoff.ts';
import type { Bus } from '../core/bus.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import { runCommand } from '../core/exec.ts';
import { ConfigError, UnavailableError } from '../core/exit-codes.ts';
import type { Logger } from '../core/log.ts';
import type { Part, StopContext } from '../core/part.ts';
import { TemplateError, type CompiledTemplate, type EngineName, type ExtraFunctions, type TemplateEngine } from '../render/engine.ts';
import { createTemplateSource, type TemplateSource } from '../render/templates.ts';
import { KeyCache } from './key-cache.ts';
import { noopReport } from './noop-report.ts';
import { processResource, resourceUses, type PipelineContext, type ResourceOutcome } from './pipeline.ts';
import { createQuiescence, type Quiescence } from './quiescence.ts';
import type { TemplateResource } from './resource.ts';

export interface TemplatesPartOptions {
  readonly settings: Settings;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly resources: readonly TemplateResource[];
  readonly bus: Bus;
  readonly log: Logger;
  readonly clock: Clock;
  /** steward's functions beside confd's (role(), members(), ...). */
  readonly extras?: ExtraFunctions;
  /** Replaces the backend the settings name (tests). */
  readonly backend?: Backend;
  /**
   * Names of `extras` whose value changes with these bus events (role(), members(), ...): a
   * resource whose template calls one renders again when one of the events comes.
   */
  readonly extrasChangeOn?: readonly { readonly functions: readonly string[]; readonly events: readonly ('role.changed' | 'members.changed' | 'leader.changed' | 'lock.changed')[] }[];
  /** Loads the resources again (--watch-templates); throws a ConfigError when one is unusable. */
  readonly reloadResources?: () => readonly TemplateResource[];
}

/** The backend of resources that read no keys: nothing to read, nothing to watch. */
function noKeysBackend(): Backend {
  return {
    name: 'none',
    source: 'no keys',
    read: async () => ({ values: new Map(), cursor: undefined }),
    watch: () => {},
    covers: () => false,
    close: async () => {},
  };
}

/** How often, while waiting for keys, the ones still missing are logged. */
const MISSING_REPORT_MS = 5000;
/** Deadline of one read while steward is still starting. */
const READ_ATTEMPT_MS = 5000;

interface ResourceState {
  quiescence: Quiescence;
  running: boolean;
  again: boolean;
}

async function loadEngine(name: EngineName, extraNames: readonly string[]): Promise<TemplateEngine> {
  if (name === 'nunjucks') return (await import('../render/nunjucks.ts')).loadNunjucksEngine();
  return (await import('../render/go/engine.ts')).createGoEngine({ extraFunctionNames: extraNames });
}

export function createTemplatesPart(o: TemplatesPartOptions): Part {
  const { settings, clock } = o;
  const log = o.log.child('config');
  const extras = o.extras ?? {};
  const templates: TemplateSource = createTemplateSource((name) => loadEngine(name, Object.keys(extras)));
  const cache = new KeyCache();
  let resources = [...o.resources];
  const states = new Map<TemplateResource, ResourceState>();
  const watchAbort = new AbortController();
  let backendWatch = new AbortController();
  const inFlight = new Set<Promise<void>>();
  const pendingSignals = new Map<SignalName, string[]>();
  let pendingRestart: string[] = [];
  let flushScheduled = false;
  let backend: Backend | undefined;
  let status: BackendStatus = { state: 'ok' };
  let initialPending: Set<TemplateResource> | undefined;
  let wakeInitial: (() => void) | undefined;
  let intervalTimer: TimerHandle | undefined;
  const keysOf = (list: readonly TemplateResource[]): string[] => [...new Set(list.flatMap((r) => r.backendKeys))].sort();
  let allKeys = keysOf(resources);
  // Overlap loading the backend's client (etcd3 and gRPC take ~200 ms) with compiling templates.
  const preload = settings.check ? Promise.resolve() : preloadBackend(settings).catch(() => {});

  function pipelineContext(b: Backend): PipelineContext {
    return {
      cache,
      covers: (requested, key) => b.covers(requested, key),
      prefixIndexed: b.name !== 'env',
      env: o.env,
      extras,
      commandTimeoutMs: settings.commandTimeout,
      keepStageFile: settings.keepStageFile,
      syncOnly: settings.syncOnly,
      noop: settings.noop,
      log,
    };
  }

  async function compiled(r: TemplateResource): Promise<CompiledTemplate> {
    return templates.compiled(r.src, r.engine);
  }

  function onUpdate(update: Update): void {
    const changed = cache.apply(update);
    if (changed.length === 0 || backend === undefined) return;
    const b = backend;
    log.debug('keys changed', { keys: changed.length <= 20 ? changed : `${changed.length} keys` });
    for (const r of resources) {
      if (!changed.some((key) => resourceUses(r, key, (req, k) => b.covers(req, k)))) continue;
      if (initialPending !== undefined) initialPending.add(r);
      else stateOf(r).quiescence.trigger();
    }
    wakeInitial?.();
  }

  function onStatus(next: BackendStatus): void {
    if (next.state === 'unreachable' && status.state === 'ok') {
      log.warn(`${backend?.name ?? 'backend'} unreachable; the app keeps its last good files`, { error: next.error, retryIn: formatDuration(next.retryInMs) });
    } else if (next.state === 'ok' && status.state === 'unreachable') {
      log.info(`${backend?.name ?? 'backend'} reachable again; re-syncing`);
    }
    status = next;
    wakeInitial?.();
  }

  function stateOf(r: TemplateResource): ResourceState {
    let st = states.get(r);
    if (st === undefined) {
      const wait = r.wait ?? settings.wait;
      const created: ResourceState = { quiescence: createQuiescence(wait, clock, () => track(renderLive(r))), running: false, again: false };
      states.set(r, created);
      st = created;
    }
    return st;
  }

  function track(p: Promise<void>): void {
    const guarded = p.catch((error: unknown) => log.error('render failed unexpectedly; keeping the last files', { error: String(error) }));
    inFlight.add(guarded);
    void guarded.finally(() => inFlight.delete(guarded));
  }

  async function renderLive(r: TemplateResource): Promise<void> {
    const st = stateOf(r);
    if (st.running) {
      st.again = true;
      return;
    }
    st.running = true;
    try {
      do {
        st.again = false;
        if (backend === undefined || watchAbort.signal.aborted) return;
        // A template that no longer compiles (or is gone) is a failed render: logged, and the
        // last good file stays.
        const b = backend;
        const outcome = await compiled(r)
          .then((template) => processResource(r, template, pipelineContext(b)))
          .catch((error: unknown): ResourceOutcome => ({ kind: 'render-failed', message: error instanceof Error ? error.message : String(error) }));
        await afterLiveRender(r, outcome);
      } while (st.again);
    } finally {
      st.running = false;
    }
  }

  async function afterLiveRender(r: TemplateResource, outcome: ResourceOutcome): Promise<void> {
    const fields = { resource: r.name, dest: r.dest };
    switch (outcome.kind) {
      case 'unchanged':
        log.debug('rendered; no change', fields);
        return;
      case 'written':
        log.info(`updated ${r.dest}`, { ...fields, changed: outcome.differences, inPlace: outcome.inPlace || undefined });
        await reloadFor(r);
        return;
      case 'missing-key':
        log.error(`key ${outcome.key} is missing; keeping the last ${r.dest}`, { ...fields, error: outcome.message });
        return;
      case 'check-failed':
        log.error(`check_cmd rejected the new ${r.dest}; keeping the last one`, { ...fields, error: outcome.message, output: outcome.output });
        return;
      case 'render-failed':
      case 'write-failed':
        log.error(`cannot update ${r.dest}; keeping the last one`, { ...fields, error: outcome.message });
        return;
      case 'would-change':
        process.stdout.write(noopReport(r, outcome));
        return;
    }
  }

  async function reloadFor(r: TemplateResource): Promise<void> {
    if (settings.syncOnly) return;
    if (r.reloadCmd !== undefined) {
      const result = await runCommand({ shell: r.reloadCmd }, { timeoutMs: settings.commandTimeout, env: o.env });
      if (result.ok) log.info('reload_cmd done', { resource: r.name, ms: Math.round(result.durationMs) });
      else log.error(`reload_cmd failed (${result.failure})`, { resource: r.name, output: result.output });
      return;
    }
    if (r.reload.kind === 'none') return;
    if (r.reload.kind === 'restart') pendingRestart.push(r.dest);
    else pendingSignals.set(r.reload.signal, [...(pendingSignals.get(r.reload.signal) ?? []), r.dest]);
    if (!flushScheduled) {
      flushScheduled = true;
      // Files rendered in the same turn make one reload per signal, not one per file.
      setImmediate(flushReloads);
    }
  }

  function flushReloads(): void {
    flushScheduled = false;
    if (pendingRestart.length > 0) {
      o.bus.emit('app.restart', { reason: `changed: ${[...pendingRestart, ...[...pendingSignals.values()].flat()].join(', ')}` });
    } else {
      for (const [signal, dests] of pendingSignals) o.bus.emit('app.reload', { signal, reason: `changed: ${dests.join(', ')}` });
    }
    pendingRestart = [];
    pendingSignals.clear();
  }

  async function compileAll(): Promise<void> {
    for (const r of resources) {
      try {
        await compiled(r);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        throw new ConfigError(`${r.name}: ${error instanceof TemplateError ? message : `cannot load template ${r.src}: ${message}`}`);
      }
    }
  }

  async function readUntil(b: Backend, deadline: number, abort: AbortSignal): Promise<{ values: ReadonlyMap<string, string>; cursor: Cursor }> {
    const backoff = exponentialBackoff({ initialMs: 200, maxMs: 5000 });
    let lastError = '';
    for (;;) {
      const attempt = AbortSignal.any([abort, AbortSignal.timeout(READ_ATTEMPT_MS)]);
      try {
        return await b.read(allKeys, attempt);
      } catch (error) {
        if (abort.aborted) throw error;
        lastError = error instanceof Error ? error.message : String(error);
        const left = deadline - clock.monotonic();
        if (left <= 0) {
          throw new UnavailableError(`cannot reach the ${b.name} backend at ${b.source} within ${formatDuration(settings.configTimeout)}: ${lastError}`);
        }
        const delay = Math.min(backoff.next(), left);
        if (backoff.attempts === 1) log.warn(`cannot reach the ${b.name} backend yet; retrying`, { source: b.source, error: lastError });
        await sleep(delay, abort);
      }
    }
  }

  async function initialRender(b: Backend, deadline: number, abort: AbortSignal): Promise<ReadonlyMap<TemplateResource, ResourceOutcome>> {
    const pending = new Set(resources);
    initialPending = pending;
    const outcomes = new Map<TemplateResource, ResourceOutcome>();
    const missing = new Map<TemplateResource, string>();
    let nextReport = clock.monotonic() + MISSING_REPORT_MS;
    try {
      for (;;) {
        const batch = [...pending];
        pending.clear();
        for (const r of batch) {
          const outcome = await processResource(r, await compiled(r), pipelineContext(b));
          switch (outcome.kind) {
            case 'missing-key':
              missing.set(r, outcome.key);
              break;
            case 'render-failed':
              throw new ConfigError(`${r.name}: ${outcome.message}`);
            case 'check-failed':
              throw new ConfigError(`${r.name}: ${outcome.message} for ${r.dest}${outcome.output === '' ? '' : `: ${outcome.output.split('\n').slice(-3).join(' | ')}`}`);
            case 'write-failed':
              throw new ConfigError(`${r.name}: cannot write ${r.dest}: ${outcome.message}`);
            default:
              missing.delete(r);
              outcomes.set(r, outcome);
              if (outcome.kind === 'written') log.info(`wrote ${r.dest}`, { resource: r.name, changed: outcome.differences });
              if (outcome.kind === 'would-change') process.stdout.write(noopReport(r, outcome));
          }
        }
        // A change while rendering (keys, role) marked resources again: render them at once.
        if (pending.size > 0) continue;
        if (missing.size === 0) return outcomes;
        const now = clock.monotonic();
        const list = [...new Set(missing.values())].sort();
        if (now >= deadline) {
          if (status.state === 'unreachable') {
            throw new UnavailableError(`the ${b.name} backend at ${b.source} is unreachable (${status.error}); still missing after ${formatDuration(settings.configTimeout)}: ${list.join(', ')}`);
          }
          throw new ConfigError(`keys still missing after ${formatDuration(settings.configTimeout)} (STEWARD_CONFIG_TIMEOUT): ${list.join(', ')}`);
        }
        if (now >= nextReport) {
          log.warn(`waiting for keys: ${list.join(', ')}`, { resources: [...missing.keys()].map((r) => r.name) });
          nextReport = now + MISSING_REPORT_MS;
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.max(1, Math.min(deadline, nextReport) - now));
          const done = (): void => {
            clearTimeout(timer);
            abort.removeEventListener('abort', done);
            wakeInitial = undefined;
            resolve();
          };
          wakeInitial = done;
          abort.addEventListener('abort', done, { once: true });
        });
        if (abort.aborted) return outcomes;
        for (const r of missing.keys()) pending.add(r);
      }
    } finally {
      initialPending = undefined;
      wakeInitial = undefined;
    }
  }

  function startWatch(b: Backend, cursor: Cursor): void {
    backendWatch.abort();
    backendWatch = new AbortController();
    b.watch(allKeys, cursor, { update: onUpdate, status: onStatus }, AbortSignal.any([watchAbort.signal, backendWatch.signal]));
  }

  // --watch-templates: new or edited resources and templates are loaded and everything renders
  // again; a resource that cannot be loaded is reported and the previous set kept. Reloads run
  // one at a time, and only once the renders of the previous set are over, so that two
  // generations of a resource never write the same file at once.
  let reloading: Promise<void> = Promise.resolve();
  function onConfdirChange(): void {
    reloading = reloading.then(reloadResources, (error: unknown) => log.error('reloading template resources failed', { error: String(error) }));
  }

  async function reloadResources(): Promise<void> {
    let b = backend;
    if (b === undefined || o.reloadResources === undefined || watchAbort.signal.aborted) return;
    let next: readonly TemplateResource[];
    try {
      next = o.reloadResources();
      for (const r of next) await compiled(r);
    } catch (error) {
      log.error('template resources changed but cannot be used; keeping the previous ones', { error: error instanceof Error ? error.message : String(error) });
      return;
    }
    for (const st of states.values()) st.quiescence.cancel();
    await Promise.allSettled([...inFlight]);
    const keys = keysOf(next);
    if (keys.join('\n') !== allKeys.join('\n')) {
      try {
        // Resources that read keys now, where none did before, need the real store.
        if (b.name === 'none' && keys.length > 0 && o.backend === undefined) b = await createBackend(settings, o.env);
        const snapshot = await b.read(keys, AbortSignal.any([watchAbort.signal, AbortSignal.timeout(READ_ATTEMPT_MS)]));
        if (b !== backend) await backend?.close().catch(() => {});
        backend = b;
        allKeys = keys;
        cache.apply({ kind: 'full', values: snapshot.values });
        startWatch(b, snapshot.cursor);
      } catch (error) {
        log.error('cannot read the keys of the changed resources; keeping the previous ones', { error: String(error) });
        return;
      }
    }
    states.clear();
    resources = [...next];
    log.info(`template resources reloaded: ${resources.length}`);
    for (const r of resources) stateOf(r).quiescence.trigger();
  }

  // Whether a resource's template calls one of the functions (a name match: a false positive
  // costs a render that changes nothing).
  function usesAny(r: TemplateResource, names: readonly string[]): boolean {
    try {
      const text = readFileSync(r.src, 'utf8');
      return names.some((n) => new RegExp(`\\b${n}\\b`).test(text));
    } catch {
      return false;
    }
  }

  function onExtrasChanged(names: readonly string[]): void {
    for (const r of resources) {
      if (!usesAny(r, names)) continue;
      if (initialPending !== undefined) initialPending.add(r);
      else if (backend !== undefined) stateOf(r).quiescence.trigger();
    }
    wakeInitial?.();
  }
  const offExtras = (o.extrasChangeOn ?? []).flatMap(({ functions, events }) => events.map((event) => o.bus.on(event, () => onExtrasChanged(functions))));

  async function runReloadCommands(outcomes: ReadonlyMap<TemplateResource, ResourceOutcome>): Promise<void> {
    for (const [r, outcome] of outcomes) {
      if (outcome.kind !== 'written' || r.reloadCmd === undefined || settings.syncOnly) continue;
      const result = await runCommand({ shell: r.reloadCmd }, { timeoutMs: settings.commandTimeout, env: o.env });
      if (!result.ok) throw new ConfigError(`${r.name}: reload_cmd failed (${result.failure}): ${result.output.split('\n').slice(-3).join(' | ')}`);
    }
  }

  return {
    name: 'templates',
    async prepare(abort) {
      await compileAll();
      if (settings.check) {
        log.info(`configuration is valid: ${resources.length} template resource(s)`);
        return;
      }
      await preload;
      // Resources that read no keys (only getenv, role(), ...) need no store at all.
      const b = o.backend ?? (allKeys.length === 0 ? noKeysBackend() : await createBackend(settings, o.env));
      backend = b;
      log.info(`rendering ${resources.length} template resource(s) from ${b.name}`, { source: b.source });
      const deadline = clock.monotonic() + settings.configTimeout;
      const snapshot = await readUntil(b, deadline, abort);
      cache.apply({ kind: 'full', values: snapshot.values });
      // Watch from the read's cursor: a change landing before the app starts is not lost.
      startWatch(b, snapshot.cursor);
      const outcomes = await initialRender(b, deadline, abort);
      if (settings.once) await runReloadCommands(outcomes);
    },
    async run() {
      if (settings.watchTemplates && backend !== undefined) {
        const { watchConfdir } = await import('./watch-confdir.ts');
        await watchConfdir(settings.confdir, onConfdirChange, watchAbort.signal);
      }
      const b = backend;
      if (b === undefined || settings.interval === undefined || settings.interval <= 0) return;
      const every = settings.interval;
      const tick = (): void => {
        intervalTimer = clock.setTimer(every, () => {
          log.debug('periodic re-sync');
          void b.read(allKeys, AbortSignal.any([watchAbort.signal, AbortSignal.timeout(READ_ATTEMPT_MS)])).then(
            (s) => {
              // The read may be older than a change the watch already delivered: the watch
              // starts again from the read's own cursor, so such a change comes again after it.
              onUpdate({ kind: 'full', values: s.values });
              startWatch(b, s.cursor);
            },
            (error: unknown) => log.warn('periodic re-sync failed', { error: String(error) }),
          );
          tick();
        });
      };
      tick();
    },
    async stop(ctx: StopContext) {
      for (const off of offExtras) off();
      watchAbort.abort();
      intervalTimer?.cancel();
      for (const st of states.values()) st.quiescence.cancel();
      const left = Math.max(0, ctx.deadline - clock.monotonic());
      await Promise.race([Promise.allSettled([...inFlight]), sleep(left).catch(() => {})]);
      await backend?.close().catch(() => {});
    },
  };
}
