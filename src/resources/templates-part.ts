// The templates part: before the app starts, every template resource is rendered from the
// backend and passes its check (waiting for keys that do not exist yet); afterwards a change to
// a key re-renders only the resources that use it, after their quiescence, and a file that
// really changed makes the app reload (SIGHUP by default), once per burst of changes.
//
// One key change, from the store's watch to the app's signal, in five files:
//   1. key-feed.ts        the backend's watch calls onUpdate; KeyCache.apply says which keys changed
//   2. templates-part.ts  keysChanged (below) tells the queue which resources read one of them
//   3. render-queue.ts    after its quiescence the resource is due and renders (renderResource below)
//   4. pipeline.ts        render (here, or in render-worker.ts's thread: render-placement.ts),
//                         compare, stage, check_cmd, swap: an outcome, which onOutcome
//                         (below) logs (write-retries.ts renders a failed write again later) and
//                         hands to reload-hold.ts, which holds the reload until the batch is whole,
//   5. reload-batcher.ts  reload_cmd, or one 'app.reload' (or 'app.restart') per batch on the bus,
//                         on which init/supervisor.ts signals the app.
// At start-up the same queue renders every resource at once, and first-render.ts holds the app
// back until each has a good outcome. role(), hasLock() and the like re-render the templates
// that call them through the same queue when their bus events come (extrasChanged below).

import type { Backend, BackendStatus } from '../backends/backend.ts';
import type { Settings } from '../config/options.ts';
import type { Bus } from '../core/bus.ts';
import type { Clock } from '../core/clock.ts';
import { ConfigError } from '../core/exit-codes.ts';
import type { Logger } from '../core/log.ts';
import type { Part, StopContext } from '../core/part.ts';
import {
  createTemplateSource, loadGoEngine, loadNunjucksEngine, TemplateError, type CompiledTemplate, type EngineName, type ExtraFunctions,
  type TemplateEngine,
} from '../render/index.ts';
import { settlesWithin } from '../core/process-control/deadline.ts';
import { createWakeup, renderFirst, takeStartUpOutcome } from './first-render.ts';
import { KeyCache } from './key-cache.ts';
import { createKeyFeed } from './key-feed.ts';
import { noopReport } from './noop-report.ts';
import { processResource, resourceUses, type ResourceOutcome } from './pipeline.ts';
import { createReloadBatcher, runReloadCommandsOnce } from './reload-batcher.ts';
import { createLiveOutcomes } from './live-outcomes.ts';
import { keysOf, resourceReloader } from './reload-resources.ts';
import { createRenderQueue } from './render-queue.ts';
import { createRenderTimes } from './render-times.ts';
import { createPlacement } from './render-placement.ts';
import { createRenderWorker } from './render-worker.ts';
import { restartsTheApp, type TemplateResource } from './resource.ts';
import type { InstallTurn } from './stage-and-swap.ts';
import { errorText } from '../core/error-text.ts';

/** The settings the templates part reads (parts.ts builds them). */
export const TEMPLATES_SETTINGS = [
  'check', 'noop', 'once', 'syncOnly', 'keepStageFile', 'watchTemplates', 'confdir', 'wait', 'interval', 'commandTimeout', 'configTimeout',
  'reloadHold', 'renderTimeout', 'renderMaxBytes', 'rolloutWindow',
] as const;
export type TemplatesSettings = Pick<Settings, (typeof TEMPLATES_SETTINGS)[number]>;

export interface TemplatesPartOptions {
  readonly settings: TemplatesSettings;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly resources: readonly TemplateResource[];
  readonly bus: Bus;
  readonly log: Logger;
  readonly clock: Clock;
  /** steward's functions beside confd's (role(), members(), ...). */
  readonly extras?: ExtraFunctions;
  /** The store to read (tests); else `openBackend` opens one when some resource reads keys. */
  readonly backend?: Backend;
  readonly openBackend?: () => Promise<Backend>;
  /** Starts loading the store's client early, to overlap it with compiling the templates. */
  readonly preloadBackend?: () => Promise<unknown>;
  /**
   * Names of `extras` whose value changes with these bus events (role(), members(), ...): a
   * resource whose template calls one renders again when one of the events comes.
   */
  readonly extrasChangeOn?: readonly { readonly functions: readonly string[]; readonly events: readonly ('role.changed' | 'members.changed' | 'leader.changed' | 'lock.changed' | 'catalog.changed')[] }[];
  /** Loads the resources again (--watch-templates); throws a ConfigError when one is unusable. */
  readonly reloadResources?: () => readonly TemplateResource[];
  /**
   * The rollout (src/rollout/): a restart resource's checked file is installed in its turn, and
   * the rollout restarts the app itself.
   */
  readonly rollout?: { turn(what: string): Promise<InstallTurn | undefined> };
}


async function loadEngine(name: EngineName, extraNames: readonly string[]): Promise<TemplateEngine> {
  if (name === 'nunjucks') return loadNunjucksEngine();
  return loadGoEngine({ extraFunctionNames: extraNames });
}

/** Compiles every resource's template before anything renders: one that cannot is exit 78. */
async function compileAll(resources: readonly TemplateResource[], compiled: (r: TemplateResource) => Promise<CompiledTemplate>): Promise<void> {
  for (const r of resources) {
    try {
      await compiled(r);
    } catch (error) {
      const message = errorText(error);
      throw new ConfigError(`${r.name}: ${error instanceof TemplateError ? message : `cannot load template ${r.src}: ${message}`}`);
    }
  }
}

/** One resource's outcome of `renderNow`. */
export interface RenderReport {
  readonly resource: string;
  readonly dest: string;
  readonly outcome: ResourceOutcome['kind'] | undefined;
}

/** What the operator's control asks of the templates part (src/control/). */
export interface TemplatesPart extends Part {
  /** The resources rendered now (names and destinations only). */
  resources(): readonly { readonly name: string; readonly dest: string }[];
  /** Renders every resource at once, past its quiescence; a written file reloads as its resource says. */
  renderNow(): Promise<readonly RenderReport[]>;
}

export function createTemplatesPart(o: TemplatesPartOptions): TemplatesPart {
  const { settings, clock, env } = o;
  const log = o.log.child('config');
  const extras = o.extras ?? {};
  const rollout = o.rollout;
  const cache = new KeyCache();
  const wakeup = createWakeup(clock);
  const stopping = new AbortController();
  const source = createTemplateSource((name) => loadEngine(name, Object.keys(extras)));
  /** What each resource's template calls, as of its last compile. */
  const calls = new WeakMap<TemplateResource, ReadonlySet<string> | undefined>();
  // Overlap loading the backend's client with compiling templates.
  const preload = settings.check ? Promise.resolve() : (o.preloadBackend?.() ?? Promise.resolve()).catch(() => {});
  const feed = createKeyFeed({ cache, clock, log, backend: o.backend, openBackend: o.openBackend, configTimeoutMs: settings.configTimeout, onChange: keysChanged, onStatus: statusChanged });
  const batcher = createReloadBatcher({ bus: o.bus, clock, log, env, commandTimeoutMs: settings.commandTimeout, syncOnly: settings.syncOnly, restartsByRollout: o.rollout !== undefined });
  // STEWARD_ROLLOUT_WINDOW is a restart resource's quiescence: quiet that long before the lock is asked for.
  const waitOf = (r: TemplateResource) => (o.rollout !== undefined && restartsTheApp(r) ? settings.rolloutWindow : undefined) ?? r.wait ?? settings.wait;
  const queue = createRenderQueue({ resources: o.resources, clock, log, waitOf, render: renderResource, onOutcome, onClear });
  const live = createLiveOutcomes({ clock, log, batcher, holdMs: settings.reloadHold, syncOnly: settings.syncOnly, retry: (r) => queue.now(r) });
  const times = createRenderTimes(clock, o.bus);
  const renderer = {
    worker: createRenderWorker({ timeoutMs: settings.renderTimeout, maxBytes: settings.renderMaxBytes, extraNames: Object.keys(extras), clock }),
    placement: createPlacement(clock),
    maxBytes: settings.renderMaxBytes,
    signal: stopping.signal,
  };
  // A stop ends the render under way at once, and nothing is swapped in after it.
  const offShutdown = o.bus.on('shutdown', () => stopping.abort());
  const offExtras = (o.extrasChangeOn ?? []).flatMap(({ functions, events }) => events.map((event) => o.bus.on(event, () => extrasChanged(functions))));

  // What was due will not render (--watch-templates replaces the resources, or steward stops).
  function onClear(): void {
    live.clear(!stopping.signal.aborted);
  }

  async function compiled(r: TemplateResource): Promise<CompiledTemplate> {
    const template = await source.compiled(r.src, r.engine, r.templateText);
    calls.set(r, template.calls);
    return template;
  }

  function keysChanged(keys: readonly string[]): void {
    const b = feed.backend;
    if (b === undefined) return;
    const due = queue.resources.filter((r) => keys.some((key) => resourceUses(r, key, (requested, k) => b.covers(requested, k))));
    for (const r of due) times.changed(r);
    changed(due);
  }

  function statusChanged(status: BackendStatus): void {
    o.bus.emit('backend.status', { backend: feed.backend?.name ?? 'backend', state: status.state, error: status.state === 'ok' ? undefined : status.error });
    wakeup.fire();
  }

  /** A change makes `due` render (after their quiescence, once live), as one batch. */
  function changed(due: readonly TemplateResource[]): void {
    if (queue.phase === 'live' && due.length > 0) live.due(due);
    for (const r of due) queue.changed(r);
    wakeup.fire();
  }

  function extrasChanged(functions: readonly string[]): void {
    changed(
      queue.resources.filter((r) => {
        // An engine that cannot tell what a template calls gets every change.
        const called = calls.get(r);
        return called === undefined || functions.some((f) => called.has(f));
      }),
    );
  }

  function renderResource(r: TemplateResource): Promise<ResourceOutcome> {
    return times.timed(r, () => renderOnce(r));
  }

  async function renderOnce(r: TemplateResource): Promise<ResourceOutcome> {
    const b = feed.backend;
    try {
      if (b === undefined) throw new Error('no backend is open');
      return await processResource(r, await compiled(r), {
        cache,
        covers: (requested, key) => b.covers(requested, key),
        prefixIndexed: b.name !== 'env',
        env,
        extras,
        commandTimeoutMs: settings.commandTimeout,
        keepStageFile: settings.keepStageFile,
        syncOnly: settings.syncOnly,
        noop: settings.noop,
        log,
        rejectedDigest: live.rejectedDigest(r),
        renderer,
        installTurn: rollout !== undefined && queue.phase === 'live' && restartsTheApp(r) && !settings.syncOnly ? () => rollout.turn(r.dest) : undefined,
      });
    } catch (error) {
      // A template that no longer compiles (or is gone) is a failed render: the last file stays.
      return { kind: 'render-failed', message: errorText(error) };
    }
  }

  async function onOutcome(r: TemplateResource, outcome: ResourceOutcome): Promise<void> {
    if (outcome.kind === 'would-change') process.stdout.write(noopReport(r, outcome));
    // A render the stop abandoned is no failure of the template's.
    if (stopping.signal.aborted) return;
    if (queue.phase !== 'live') {
      takeStartUpOutcome(r, outcome, queue, log);
      return;
    }
    await live.handle(r, outcome);
  }

  return {
    name: 'templates',
    resources: () => queue.resources.map((r) => ({ name: r.name, dest: r.dest })),
    async renderNow() {
      if (queue.phase !== 'live') throw new Error('the first render is still under way');
      const resources = queue.resources;
      for (const r of resources) queue.now(r);
      await queue.idle();
      return resources.map((r) => ({ resource: r.name, dest: r.dest, outcome: queue.outcome(r)?.kind }));
    },
    async prepare(abort) {
      abort.addEventListener('abort', () => stopping.abort(), { once: true });
      await compileAll(queue.resources, compiled);
      if (settings.check) {
        log.info(`configuration is valid: ${queue.resources.length} template resource(s)`);
        return;
      }
      await preload;
      const b = await feed.open(keysOf(queue.resources));
      log.info(`rendering ${queue.resources.length} template resource(s) from ${b.name}`, { source: b.source });
      const deadline = clock.monotonic() + settings.configTimeout;
      await feed.start(deadline, abort);
      if (b.name !== 'none') o.bus.emit('backend.status', { backend: b.name, state: 'ok', error: undefined });
      const store = () => ({ name: b.name, source: b.source, status: feed.status });
      const outcomes = await renderFirst({ queue, wakeup, clock, log, deadline, configTimeoutMs: settings.configTimeout, store }, abort);
      queue.goLive();
      if (settings.once) await runReloadCommandsOnce(outcomes, { log, env, commandTimeoutMs: settings.commandTimeout, syncOnly: settings.syncOnly });
    },
    async run() {
      if (feed.backend === undefined) return;
      if (settings.watchTemplates && o.reloadResources !== undefined) {
        const { watchConfdir } = await import('./watch-confdir.ts');
        const reload = resourceReloader({ load: o.reloadResources, compile: compiled, queue, feed, log, stopped: stopping.signal });
        await watchConfdir(settings.confdir, reload, stopping.signal, clock);
      }
      if (settings.interval !== undefined && settings.interval > 0) feed.resyncEvery(settings.interval);
    },
    async stop(ctx: StopContext) {
      for (const off of [...offExtras, offShutdown]) off();
      stopping.abort();
      live.stop();
      feed.stop();
      queue.stop();
      await settlesWithin(queue.idle(), ctx.deadline - clock.monotonic(), clock);
      await renderer.worker.close();
      await feed.close();
    },
  };
}
