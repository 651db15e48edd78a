// Whether the app's health is watched at all, decided from the settings alone: parts.ts asks it
// for every run, so it imports nothing (a pure init loads no part of health/).

import type { Settings } from '../config/options.ts';

export function healthConfigured(s: Pick<Settings, 'healthCmd' | 'healthHttp' | 'healthTcp' | 'healthNotify'>): boolean {
  return s.healthCmd !== undefined || s.healthHttp !== undefined || s.healthTcp.length > 0 || s.healthNotify;
}
