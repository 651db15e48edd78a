// Decides which parts this run needs, from the settings and the environment, and loads only
// those: a plain `steward -- app` loads none and stays a pure init.

import type { OptionKey, Settings } from './config/options.ts';
import type { SettingSource } from './config/settings.ts';
import type { Bus } from './core/bus.ts';
import type { Clock } from './core/clock.ts';
import type { Logger } from './core/log.ts';
import type { Part } from './core/part.ts';

export interface PartContext {
  readonly settings: Settings;
  readonly sources: ReadonlyMap<OptionKey, SettingSource>;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly bus: Bus;
  readonly log: Logger;
  readonly clock: Clock;
}

export async function assembleParts(_ctx: PartContext): Promise<Part[]> {
  return [];
}
