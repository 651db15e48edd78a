// Whether a run reads the service catalog, from the settings alone (parts.ts asks before loading
// anything of discovery): it registers a service, or names where services are.

import type { Settings } from '../config/options.ts';

export function readsCatalog(settings: Pick<Settings, 'serviceName' | 'serviceBackend' | 'consulAddr'>): boolean {
  return settings.serviceName !== undefined || settings.serviceBackend !== undefined || settings.consulAddr !== undefined;
}
