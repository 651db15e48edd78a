// `service` and `services` for templates (both engines), over whatever catalog the store keeps.
// The query forms are consul-template's: "name", "tag.name", "name|passing,warning", and
// `service "name" "passing,warning"` (its arguments are joined with "|"); a datacenter
// ("@dc") or nearness ("~node") is accepted and ignored, as there is one catalog per store.

import { sortInstances, type CatalogEntry, type HealthService } from './instance.ts';

/** What the catalog holds now (discovery/catalog.ts keeps it up to date). */
export interface CatalogSnapshot {
  /** Every instance of `name` registered now, whatever its health. */
  instances(name: string): readonly HealthService[];
  /** Every service name with the union of its tags, sorted by name. */
  services(): readonly CatalogEntry[];
}

/** The names templates call: a resource that calls one renders again when the catalog changes. */
export const DISCOVERY_FUNCTIONS = ['service', 'services'] as const;

const FILTERS = new Set(['any', 'passing', 'warning', 'critical', 'maintenance']);
const QUERY = /^(?:(?<tag>[\w=:.-]+)\.)?(?<name>[\w-]+)(?:@(?<dc>[\w.-]+))?(?:~(?<near>[\w.-]+))?(?:\|(?<filter>[\w,\s]*))?$/;

export interface ServiceQuery {
  readonly name: string;
  readonly tag: string | undefined;
  readonly filters: readonly string[];
}

export function parseServiceQuery(text: string): ServiceQuery {
  const m = QUERY.exec(text);
  const groups = m?.groups;
  if (groups === undefined || groups['name'] === undefined) throw new Error(`service: invalid format: ${JSON.stringify(text)}`);
  const filters: string[] = [];
  for (const raw of (groups['filter'] ?? '').split(',')) {
    const f = raw.trim();
    if (f === '') continue;
    if (!FILTERS.has(f)) throw new Error(`service: invalid filter: ${JSON.stringify(f)} in ${JSON.stringify(text)}`);
    filters.push(f);
  }
  return { name: groups['name'], tag: groups['tag'], filters: filters.length === 0 ? ['passing'] : filters.sort() };
}

export function queryInstances(catalog: CatalogSnapshot, query: ServiceQuery): HealthService[] {
  const accepted = (status: string) => query.filters.includes('any') || query.filters.includes(status);
  return sortInstances(
    catalog.instances(query.name).filter((i) => accepted(i.Status) && (query.tag === undefined || i.Tags.includes(query.tag))),
  );
}

export function discoveryFunctions(catalog: CatalogSnapshot): { service: (...args: unknown[]) => unknown; services: (...args: unknown[]) => unknown } {
  return {
    service: (...args: unknown[]) => {
      const parts = args.map(String).filter((a) => a !== '');
      if (parts.length === 0) return [];
      return queryInstances(catalog, parseServiceQuery(parts.join('|')));
    },
    services: () => catalog.services(),
  };
}
