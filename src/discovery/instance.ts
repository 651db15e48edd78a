// A service instance as templates see it: consul-template's HealthService fields, so that its
// templates work unchanged on every store. Status is the aggregate of the instance's checks as
// Consul's API computes it (maintenance, then critical, then warning, then passing).

export type CheckStatus = 'passing' | 'warning' | 'critical' | 'maintenance';

export interface HealthCheck {
  readonly Node: string;
  readonly CheckID: string;
  readonly Name: string;
  readonly Status: string;
  readonly Notes: string;
  readonly Output: string;
  readonly ServiceID: string;
  readonly ServiceName: string;
}

export interface HealthService {
  readonly Node: string;
  readonly NodeAddress: string;
  readonly NodeDatacenter: string;
  readonly Address: string;
  readonly ID: string;
  readonly Name: string;
  readonly Tags: readonly string[];
  readonly ServiceMeta: Readonly<Record<string, string>>;
  readonly Port: number;
  readonly Status: string;
  readonly Checks: readonly HealthCheck[];
}

/** A service's name and the union of its instances' tags (`services`). */
export interface CatalogEntry {
  readonly Name: string;
  readonly Tags: readonly string[];
}

/** The maintenance checks Consul adds for a node or a service. */
export const NODE_MAINTENANCE = '_node_maintenance';
export const SERVICE_MAINTENANCE_PREFIX = '_service_maintenance:';

export function aggregatedStatus(checks: readonly Pick<HealthCheck, 'CheckID' | 'Status'>[]): CheckStatus {
  let warning = false;
  let critical = false;
  for (const check of checks) {
    if (check.CheckID === NODE_MAINTENANCE || check.CheckID.startsWith(SERVICE_MAINTENANCE_PREFIX)) return 'maintenance';
    if (check.Status === 'critical') critical = true;
    else if (check.Status === 'warning') warning = true;
  }
  return critical ? 'critical' : warning ? 'warning' : 'passing';
}

/** Sorted and without duplicates, as consul-template hands tags to templates. */
export function sortedTags(tags: readonly string[] | null | undefined): string[] {
  return [...new Set(tags ?? [])].sort(byteOrder);
}

/** Go's string comparison: by UTF-16 code unit here, which orders ASCII names as Go does. */
export function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** consul-template's order: by node, then by service id (a stable sort). */
export function sortInstances(list: readonly HealthService[]): HealthService[] {
  return [...list].sort((a, b) => byteOrder(a.Node, b.Node) || byteOrder(a.ID, b.ID));
}
