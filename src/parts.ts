// Decides which parts this run needs, from the settings and the environment, and loads only
// those: a plain `steward -- app` loads none and stays a pure init.

import type { OptionKey, Settings } from './config/options.ts';
import type { SettingSource } from './config/settings.ts';
import type { Bus } from './core/bus.ts';
import type { ChildUsers } from './core/child-rule.ts';
import type { Clock } from './core/clock.ts';
import type { Logger } from './core/log.ts';
import type { Part } from './core/part.ts';
import type { RegisterViews } from './control/views.ts';
import type { Libc } from './init/libc.ts';
import type { ClusterView } from './cluster/cluster-view.ts';
import type { Coordinator } from './cluster/coordinator.ts';
import { CLUSTER_FUNCTIONS } from './cluster/cluster-view.ts';
import { hasJobs } from './jobs/has-jobs.ts';
import { healthConfigured } from './health/configured.ts';
import { hasProcesses } from './processes/has-processes.ts';
import type { Guards } from './jobs/guards.ts';
import type { LocksPart } from './cluster/locks-part.ts';
import type { HealthPart } from './health/health-part.ts';
import { findResourceFiles, type InMemoryFiles } from './resources/find-resources.ts';
import { restartsTheApp, type TemplateResource } from './resources/resource.ts';
import type { TemplatesPart } from './resources/templates-part.ts';
import type { ExtraFunctions } from './render/index.ts';
import type { CatalogPart } from './discovery/catalog-part.ts';
import type { RegistrationPart } from './discovery/registration-part.ts';
import { DISCOVERY_FUNCTIONS } from './discovery/functions.ts';
import { readsCatalog } from './discovery/configured.ts';
import type { RolloutPart } from './rollout/rollout-part.ts';

export interface PartContext {
  readonly settings: Settings;
  readonly sources: ReadonlyMap<OptionKey, SettingSource>;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The users children run as (core/child-rule.ts). */
  readonly users: ChildUsers;
  readonly bus: Bus;
  readonly log: Logger;
  readonly clock: Clock;
  /** The operator's control hears of the templates and jobs parts here (src/control/views.ts). */
  readonly register?: RegisterViews;
  readonly libc: Libc;
}

/** Only the settings a part reads: each part declares which (its *_SETTINGS list). */
function pick<K extends keyof Settings>(settings: Settings, keys: readonly K[]): Pick<Settings, K> {
  const picked = {} as Pick<Settings, K>;
  for (const key of keys) picked[key] = settings[key];
  return picked;
}

/** The store the replicas coordinate through, opened on first use. */
function coordinatorOpener(ctx: PartContext): () => Promise<Coordinator> {
  return async () => (await import('./cluster/select-coordinator.ts')).createCoordinator(ctx.settings, ctx.sources, ctx.clock);
}

function carriesConfdFiles(env: PartContext['env']): boolean {
  return Object.keys(env).some((name) => /^CONFD_(CONFDFILE|TEMPLATE)(_|$)/.test(name));
}

/** The rollout part, when a resource restarts the app (or STEWARD_ROLLOUT_LOCK asks for one). */
async function rolloutPart(ctx: PartContext, resources: readonly TemplateResource[]): Promise<RolloutPart | undefined> {
  if (!resources.some(restartsTheApp) && ctx.settings.rolloutLock === undefined) return undefined;
  const { createRolloutPart, ROLLOUT_SETTINGS } = await import('./rollout/rollout-part.ts');
  return createRolloutPart({
    settings: pick(ctx.settings, ROLLOUT_SETTINGS),
    healthWatched: healthConfigured(ctx.settings),
    openCoordinator: coordinatorOpener(ctx),
    env: ctx.env,
    users: ctx.users,
    bus: ctx.bus,
    log: ctx.log,
    clock: ctx.clock,
  });
}

async function templatesPart(
  ctx: PartContext,
  view: ClusterView | undefined,
  locks: LocksPart | undefined,
  catalog: ExtraFunctions,
  serves: boolean,
): Promise<{ templates: TemplatesPart; rollout: RolloutPart | undefined } | undefined> {
  const { settings, env, log } = ctx;
  if (env['CONFD_PATH'] !== undefined) log.info('CONFD_PATH is ignored: steward renders templates itself, no confd binary is run');
  // The CONFD_* files come first: they may be the only resources there are. --noop and --check
  // write nothing: they read them from memory.
  let inMemory: InMemoryFiles | undefined;
  if (carriesConfdFiles(env)) {
    const { confdFilesFromEnv, confdFilesInMemory, writeConfdFiles } = await import('./config/confd-files.ts');
    const files = confdFilesFromEnv(env);
    if (settings.noop || settings.check) inMemory = confdFilesInMemory(files);
    else for (const path of writeConfdFiles(settings.confdir, files)) log.info(`wrote ${path} from the environment`);
  }
  if (findResourceFiles(settings.confdir, inMemory).length === 0) {
    if (settings.once || settings.noop || settings.check) log.warn(`no template resources under ${settings.confdir}/conf.d; nothing to render`);
    return undefined;
  }
  const { loadResources } = await import('./resources/load-resources.ts');
  const load = () => loadResources({ confdir: settings.confdir, prefix: settings.prefix, log: log.child('config'), inMemory });
  const resources = load();
  const { warnAboutBindMounts } = await import('./resources/bind-mounts.ts');
  warnAboutBindMounts(resources.map((r) => r.dest), log.child('config'));
  const rollout = serves && !settings.syncOnly ? await rolloutPart(ctx, resources) : undefined;
  const { createTemplatesPart, TEMPLATES_SETTINGS } = await import('./resources/templates-part.ts');
  const templates = createTemplatesPart({
    settings: pick(settings, TEMPLATES_SETTINGS),
    env,
    // The store's options stay here: the part only opens what it is handed.
    openBackend: async () => (await import('./backends/select.ts')).createBackend(settings, env),
    preloadBackend: async () => (await import('./backends/select.ts')).preloadBackend(settings),
    resources,
    bus: ctx.bus,
    log: ctx.log,
    clock: ctx.clock,
    reloadResources: load,
    extras: { ...view?.extras, ...locks?.extras, ...catalog },
    extrasChangeOn: [
      { functions: DISCOVERY_FUNCTIONS, events: ['catalog.changed'] as const },
      ...(view === undefined ? [] : [{ functions: CLUSTER_FUNCTIONS, events: ['role.changed', 'members.changed', 'leader.changed'] as const }]),
      ...(locks === undefined ? [] : [{ functions: ['hasLock'], events: ['lock.changed'] as const }]),
    ],
    rollout,
  });
  return { templates, rollout };
}

async function catalogPart(ctx: PartContext): Promise<CatalogPart | undefined> {
  if (ctx.settings.check || !readsCatalog(ctx.settings)) return undefined;
  const { createCatalogPart } = await import('./discovery/catalog-part.ts');
  const { openCatalog } = await import('./discovery/open-store.ts');
  return createCatalogPart({
    openCatalog: () => openCatalog(ctx.settings, ctx.sources, ctx.env, ctx.clock, ctx.log.child('discovery')),
    bus: ctx.bus,
    log: ctx.log,
    clock: ctx.clock,
  });
}

/** `service` and `services` where no registry is named: a template calling them says what to set. */
function noCatalog(): ExtraFunctions {
  const unset = () => {
    throw new Error('no service registry is configured: set STEWARD_SERVICE_BACKEND (consul, etcd or file) or STEWARD_SERVICE_NAME');
  };
  return { service: unset, services: unset };
}

async function registrationPart(ctx: PartContext, watchesHealth: boolean): Promise<RegistrationPart | undefined> {
  const { serviceSpec, REGISTRATION_SETTINGS } = await import('./discovery/service-spec.ts');
  const spec = serviceSpec(pick(ctx.settings, REGISTRATION_SETTINGS), ctx.env);
  if (spec === undefined) return undefined;
  const { createRegistrationPart } = await import('./discovery/registration-part.ts');
  const { openRegistrar } = await import('./discovery/open-store.ts');
  return createRegistrationPart({
    spec,
    deregisterDelayMs: ctx.settings.deregisterDelay,
    watchesHealth,
    openRegistrar: () => openRegistrar(ctx.settings, ctx.sources, spec),
    bus: ctx.bus,
    log: ctx.log,
    clock: ctx.clock,
  });
}

/**
 * Parts start in this order and stop in reverse: the election first (templates may use role()),
 * then the wait-for conditions, then the templates.
 */
export async function assembleParts(ctx: PartContext): Promise<Part[]> {
  const parts: Part[] = [];
  // --check, --noop and --once only render (or validate) the configuration: no election, no
  // waiting, no locks, no jobs, and nothing contacted beyond the template backend.
  const serves = !(ctx.settings.check || ctx.settings.noop || ctx.settings.once);
  let view: ClusterView | undefined;
  // Whether health is watched is known from the settings alone: the election's member record
  // starts with it, before the health part (or the app) runs.
  const watchesHealth = serves && healthConfigured(ctx.settings);
  if (serves && ctx.settings.election !== undefined) {
    const { createClusterView } = await import('./cluster/cluster-view.ts');
    const { createClusterPart, CLUSTER_SETTINGS } = await import('./cluster/cluster-part.ts');
    const v = createClusterView((listener) =>
      ctx.bus.on('role.changed', (e) => {
        if (e.role === 'follower') listener(e.reason);
      }),
    );
    view = v;
    parts.push(
      createClusterPart({
        settings: pick(ctx.settings, CLUSTER_SETTINGS),
        openCoordinator: coordinatorOpener(ctx),
        env: ctx.env,
        users: ctx.users,
        view: v,
        initialHealth: watchesHealth ? 'starting' : 'none',
        bus: ctx.bus,
        log: ctx.log,
        clock: ctx.clock,
      }),
    );
  }
  if (serves && ctx.settings.waitFor.length > 0) {
    const { createWaitForPart, WAIT_FOR_SETTINGS } = await import('./cluster/wait-for.ts');
    const openBackend = async () => (await import('./backends/select.ts')).createBackend(ctx.settings, ctx.env);
    parts.push(
      createWaitForPart({
        settings: pick(ctx.settings, WAIT_FOR_SETTINGS),
        openCoordinator: coordinatorOpener(ctx),
        openBackend,
        log: ctx.log,
        clock: ctx.clock,
      }),
    );
  }
  let locks: LocksPart | undefined;
  if (serves && ctx.settings.fsLocks.length > 0) {
    const { createLocksPart, LOCKS_SETTINGS } = await import('./cluster/locks-part.ts');
    locks = createLocksPart({ settings: pick(ctx.settings, LOCKS_SETTINGS), env: ctx.env, users: ctx.users, bus: ctx.bus, log: ctx.log, clock: ctx.clock });
    parts.push(locks);
  }
  // The service catalog is read before the templates' first render (its part comes first).
  const catalog = await catalogPart(ctx);
  const rendering = await templatesPart(ctx, view, locks, catalog?.extras ?? noCatalog(), serves);
  if (rendering !== undefined) {
    const { templates, rollout } = rendering;
    if (catalog !== undefined) parts.push(catalog);
    parts.push(templates);
    ctx.register?.({ templates });
    // After the templates: it stops first, so that no file waits for a turn that will not come.
    if (rollout !== undefined) {
      parts.push(rollout);
      ctx.register?.({ rollout });
    }
  }
  let health: HealthPart | undefined;
  if (watchesHealth) {
    const { createHealthPart, HEALTH_SETTINGS } = await import('./health/health-part.ts');
    health = createHealthPart({
      settings: pick(ctx.settings, HEALTH_SETTINGS),
      env: ctx.env,
      users: ctx.users,
      libc: ctx.libc,
      bus: ctx.bus,
      log: ctx.log,
      clock: ctx.clock,
    });
    parts.push(health);
  }
  // Jobs start after the app and stop before the election resigns (parts stop in reverse).
  if (serves && hasJobs(ctx.env, ctx.settings.config)) {
    const { createJobsPart } = await import('./jobs/jobs-part.ts');
    const guards: Guards = { leader: view?.leaderGuard, lock: (path) => locks?.guard(path), healthy: health?.guard };
    const jobs = createJobsPart({
      env: ctx.env,
      users: ctx.users,
      configFile: ctx.settings.config,
      timeZone: ctx.settings.tz,
      guards,
      bus: ctx.bus,
      log: ctx.log,
      clock: ctx.clock,
      stopTimeoutMs: ctx.settings.stopTimeout,
      backupFutureToleranceMs: ctx.settings.backupFutureTolerance,
    });
    parts.push(jobs);
    ctx.register?.({ jobs });
  }
  // Sidecars come after the configuration parts: they start once the configuration is rendered,
  // and stop before them. --check
  // validates their settings too.
  if ((serves || ctx.settings.check) && hasProcesses(ctx.env, ctx.settings.processDir)) {
    const { readProcesses } = await import('./processes/config.ts');
    const defaults = { restartBackoffMs: ctx.settings.restartBackoff, stopTimeoutMs: ctx.settings.stopTimeout };
    const specs = await readProcesses(ctx.env, ctx.settings.processDir, defaults, healthConfigured(ctx.settings));
    if (serves && specs.length > 0) {
      const { createProcessesPart } = await import('./processes/processes-part.ts');
      parts.push(createProcessesPart({ specs, env: ctx.env, users: ctx.users, bus: ctx.bus, log: ctx.log, clock: ctx.clock }));
    }
  }
  // Last, so that its beforeAppStop comes first: deregistered before anything else stops, sidecars
  // included.
  if (serves && ctx.settings.serviceName !== undefined) {
    const registration = await registrationPart(ctx, watchesHealth);
    if (registration !== undefined) {
      parts.push(registration);
      ctx.register?.({ registration });
    }
  }
  return parts;
}
