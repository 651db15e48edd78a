// The service this steward registers, from STEWARD_SERVICE_* (and STEWARD_SERVICE_META_<KEY>,
// read from the environment as a family), and the record etcd and the shared directory keep
// for it: the same HealthService shape templates read from Consul.

import type { Settings } from '../config/options.ts';
import { ConfigError } from '../core/exit-codes.ts';
import { defaultAdvertiseAddress, defaultInstanceId } from '../cluster/identity.ts';
import { aggregatedStatus, SERVICE_MAINTENANCE_PREFIX, sortedTags, type HealthCheck, type HealthService } from './instance.ts';

export const REGISTRATION_SETTINGS = [
  'serviceName', 'serviceId', 'servicePort', 'serviceAddress', 'serviceTags', 'serviceTtl', 'serviceDeregisterAfter', 'deregisterDelay',
  'instanceId', 'advertiseAddr',
] as const;
export type RegistrationSettings = Pick<Settings, (typeof REGISTRATION_SETTINGS)[number]>;

export interface ServiceSpec {
  readonly name: string;
  readonly id: string;
  /** '' lets Consul's agent use its node's address; etcd and file records always carry one. */
  readonly address: string;
  readonly port: number;
  readonly tags: readonly string[];
  readonly meta: Readonly<Record<string, string>>;
  readonly ttlMs: number;
  readonly deregisterAfterMs: number;
  /** This replica, as the node of etcd and file records. */
  readonly node: string;
  readonly nodeAddress: string;
}

/** What the registration says now: the app's health, or maintenance. */
export interface ServiceState {
  readonly status: 'passing' | 'critical';
  readonly output: string;
  /** The reason, while in maintenance. */
  readonly maintenance: string | undefined;
}

const META = /^STEWARD_SERVICE_META_(.+)$/;
const NAME = /^[A-Za-z0-9_-]+$/;

export function serviceSpec(s: RegistrationSettings, env: Readonly<Record<string, string | undefined>>): ServiceSpec | undefined {
  const name = s.serviceName;
  if (name === undefined) return undefined;
  if (!NAME.test(name)) throw new ConfigError(`STEWARD_SERVICE_NAME: ${JSON.stringify(name)} is not a service name (letters, digits, - and _)`);
  const node = s.instanceId ?? env['HOSTNAME'] ?? defaultInstanceId();
  const id = s.serviceId ?? `${name}-${node}`;
  if (id.includes('/')) throw new ConfigError(`STEWARD_SERVICE_ID: ${JSON.stringify(id)} may not contain "/"`);
  const meta: Record<string, string> = {};
  for (const [variable, value] of Object.entries(env)) {
    const m = META.exec(variable);
    if (m?.[1] !== undefined && value !== undefined) meta[m[1]] = value;
  }
  const nodeAddress = s.advertiseAddr ?? defaultAdvertiseAddress();
  return {
    name,
    id,
    address: s.serviceAddress ?? nodeAddress,
    port: s.servicePort ?? 0,
    tags: s.serviceTags,
    meta,
    ttlMs: s.serviceTtl,
    deregisterAfterMs: s.serviceDeregisterAfter,
    node,
    nodeAddress,
  };
}

/** The TTL check's id, as Consul names a service's check when registered with the service. */
export function checkId(spec: Pick<ServiceSpec, 'id'>): string {
  return `service:${spec.id}`;
}

/** The record etcd and the shared directory hold: a HealthService, plus its TTL for readers. */
export interface StoredInstance extends HealthService {
  /** Readers of the shared directory ignore a record not refreshed for this long. */
  readonly TTL: number;
}

export function storedInstance(spec: ServiceSpec, state: ServiceState): StoredInstance {
  const check = (CheckID: string, Name: string, Status: string, Output: string, Notes = ''): HealthCheck => ({
    Node: spec.node, CheckID, Name, Status, Notes, Output, ServiceID: spec.id, ServiceName: spec.name,
  });
  const checks = [check(checkId(spec), `Service '${spec.name}' check`, state.status, state.output)];
  if (state.maintenance !== undefined) {
    checks.push(check(`${SERVICE_MAINTENANCE_PREFIX}${spec.id}`, 'Service Maintenance Mode', 'critical', '', state.maintenance));
  }
  return {
    Node: spec.node,
    NodeAddress: spec.nodeAddress,
    NodeDatacenter: '',
    Address: spec.address === '' ? spec.nodeAddress : spec.address,
    ID: spec.id,
    Name: spec.name,
    Tags: sortedTags(spec.tags),
    ServiceMeta: spec.meta,
    Port: spec.port,
    Status: aggregatedStatus(checks),
    Checks: checks,
    TTL: spec.ttlMs,
  };
}

/** A stored record read back, checked field by field; undefined when it is not one. */
export function parseStoredInstance(text: string): StoredInstance | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as Record<string, unknown>;
  const str = (k: string) => (typeof r[k] === 'string' ? (r[k] as string) : '');
  if (str('ID') === '' || str('Name') === '') return undefined;
  const checks = Array.isArray(r['Checks']) ? (r['Checks'] as HealthCheck[]).filter((c) => typeof c === 'object' && c !== null) : [];
  const meta = typeof r['ServiceMeta'] === 'object' && r['ServiceMeta'] !== null ? (r['ServiceMeta'] as Record<string, string>) : {};
  return {
    Node: str('Node'),
    NodeAddress: str('NodeAddress'),
    NodeDatacenter: str('NodeDatacenter'),
    Address: str('Address'),
    ID: str('ID'),
    Name: str('Name'),
    Tags: sortedTags(Array.isArray(r['Tags']) ? (r['Tags'] as unknown[]).map(String) : []),
    ServiceMeta: meta,
    Port: typeof r['Port'] === 'number' ? r['Port'] : 0,
    Status: aggregatedStatus(checks),
    Checks: checks,
    TTL: typeof r['TTL'] === 'number' ? r['TTL'] : 0,
  };
}
