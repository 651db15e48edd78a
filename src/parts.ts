// Decides which parts this run needs, from the settings and the environment, and loads only
// those: a plain `steward -- app` loads none and stays a pure init.

import type { OptionKey, Settings } from './config/options.ts';
import type { SettingSource } from './config/settings.ts';
import type { Bus } from './core/bus.ts';
import type { Clock } from './core/clock.ts';
import type { Logger } from './core/log.ts';
import type { Part } from './core/part.ts';
import { findResourceFiles } from './resources/find-resources.ts';

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

async function templatesPart(ctx: PartContext): Promise<Part | undefined> {
  const { settings, env, log } = ctx;
  if (env['CONFD_PATH'] !== undefined) log.info('CONFD_PATH is ignored: steward renders templates itself, no confd binary is run');
  // The CONFD_* files come first: they may be the only resources there are.
  if (carriesConfdFiles(env)) {
    const { confdFilesFromEnv, writeConfdFiles } = await import('./config/confd-files.ts');
    const written = writeConfdFiles(settings.confdir, confdFilesFromEnv(env));
    for (const path of written) log.info(`wrote ${path} from the environment`);
  }
  if (findResourceFiles(settings.confdir).length === 0) {
    if (settings.once || settings.noop || settings.check) log.warn(`no template resources under ${settings.confdir}/conf.d; nothing to render`);
    return undefined;
  }
  const { loadResources } = await import('./resources/load-resources.ts');
  const load = () => loadResources({ confdir: settings.confdir, prefix: settings.prefix, log: log.child('config') });
  const { createTemplatesPart } = await import('./resources/templates-part.ts');
  return createTemplatesPart({ settings, env, resources: load(), bus: ctx.bus, log: ctx.log, clock: ctx.clock, reloadResources: load });
}

export async function assembleParts(ctx: PartContext): Promise<Part[]> {
  const parts: Part[] = [];
  const templates = await templatesPart(ctx);
  if (templates !== undefined) parts.push(templates);
  return parts;
}
