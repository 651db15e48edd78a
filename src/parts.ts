// Decides which parts this run needs, from the settings and the environment, and loads only
// those: a plain `steward -- app` loads none and stays a pure init.

import type { OptionKey, Settings } from './config/options.ts';
import type { SettingSource } from './config/settings.ts';
import type { Bus } from './core/bus.ts';
import type { Clock } from './core/clock.ts';
import type { Logger } from './core/log.ts';
import type { Part } from './core/part.ts';
import type { ClusterView } from './cluster/cluster-view.ts';
import { CLUSTER_FUNCTIONS } from './cluster/cluster-view.ts';
import { hasJobs } from './jobs/has-jobs.ts';
import type { Guards } from './jobs/guards.ts';
import type { LocksPart } from './jobs/locks-part.ts';
import { findResourceFiles, type InMemoryFiles } from './resources/find-resources.ts';

export interface PartContext {
  readonly settings: Settings;
  readonly sources: ReadonlyMap<OptionKey, SettingSource>;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly bus: Bus;
  readonly log: Logger;
  readonly clock: Clock;
}

function carriesConfdFiles(env: PartContext['env']): boolean {
  return Object.keys(env).some((name) => /^CONFD_(CONFDFILE|TEMPLATE)(_|$)/.test(name));
}

async function templatesPart(ctx: PartContext, view: ClusterView | undefined, locks: LocksPart | undefined): Promise<Part | undefined> {
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
  const { createTemplatesPart } = await import('./resources/templates-part.ts');
  return createTemplatesPart({
    settings,
    env,
    resources,
    bus: ctx.bus,
    log: ctx.log,
    clock: ctx.clock,
    reloadResources: load,
    extras: { ...view?.extras, ...locks?.extras },
    extrasChangeOn: [
      ...(view === undefined ? [] : [{ functions: CLUSTER_FUNCTIONS, events: ['role.changed', 'members.changed', 'leader.changed'] as const }]),
      ...(locks === undefined ? [] : [{ functions: ['hasLock'], events: ['lock.changed'] as const }]),
    ],
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
  if (serves && ctx.settings.election !== undefined) {
    const { createClusterView } = await import('./cluster/cluster-view.ts');
    const { createClusterPart } = await import('./cluster/cluster-part.ts');
    const v = createClusterView((listener) =>
      ctx.bus.on('role.changed', (e) => {
        if (e.role === 'follower') listener(e.reason);
      }),
    );
    view = v;
    parts.push(createClusterPart({ settings: ctx.settings, sources: ctx.sources, env: ctx.env, view: v, bus: ctx.bus, log: ctx.log, clock: ctx.clock }));
  }
  if (serves && ctx.settings.waitFor.length > 0) {
    const { createWaitForPart } = await import('./cluster/wait-for.ts');
    parts.push(createWaitForPart({ settings: ctx.settings, sources: ctx.sources, env: ctx.env, log: ctx.log, clock: ctx.clock }));
  }
  let locks: LocksPart | undefined;
  if (serves && ctx.settings.fsLocks.length > 0) {
    const { createLocksPart } = await import('./jobs/locks-part.ts');
    locks = createLocksPart({ settings: ctx.settings, env: ctx.env, bus: ctx.bus, log: ctx.log, clock: ctx.clock });
    parts.push(locks);
  }
  const templates = await templatesPart(ctx, view, locks);
  if (templates !== undefined) parts.push(templates);
  // Jobs start after the app and stop before the election resigns (parts stop in reverse).
  if (serves && hasJobs(ctx.env, ctx.settings.config)) {
    const { createJobsPart } = await import('./jobs/jobs-part.ts');
    const guards: Guards = { leader: view?.leaderGuard, lock: (path) => locks?.guard(path) };
    parts.push(
      createJobsPart({
        env: ctx.env,
        configFile: ctx.settings.config,
        timeZone: ctx.settings.tz,
        guards,
        bus: ctx.bus,
        log: ctx.log,
        clock: ctx.clock,
        stopTimeoutMs: ctx.settings.stopTimeout,
        backupFutureToleranceMs: ctx.settings.backupFutureTolerance,
      }),
    );
  }
  return parts;
}
