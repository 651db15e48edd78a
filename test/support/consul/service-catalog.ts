import type { TimerHandle } from '../../../src/core/clock.ts';
import type { ConsulStore } from './store.ts';
import type { VirtualTime } from './virtual-time.ts';

// ---- service discovery (issue 16) -------------------------------------------------------
// The double's agent services and checks and their catalog view, on its one node, as
// developer.hashicorp.com/consul/api-docs/agent/service, /agent/check, /health and /catalog
// describe them: a TTL check goes critical when not updated within its TTL ("TTL expired");
// a check critical for DeregisterCriticalServiceAfter takes its service with it; maintenance
// adds a critical "_service_maintenance:<id>" check. Every change takes a raft index from the
// store and wakes the blocking queries that watch that service (StoreChange.services).

export type ServiceCheckStatus = 'passing' | 'warning' | 'critical';

export interface AgentServiceRecord {
  readonly ID: string;
  readonly Service: string;
  readonly Tags: readonly string[];
  readonly Address: string;
  readonly Port: number;
  readonly Meta: Readonly<Record<string, string>>;
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}

export interface AgentCheckRecord {
  readonly CheckID: string;
  readonly Name: string;
  readonly Status: ServiceCheckStatus;
  readonly Notes: string;
  readonly Output: string;
  readonly ServiceID: string;
  readonly ServiceName: string;
  /** TTL in ms (0: not a TTL check). */
  readonly ttlMs: number;
  /** DeregisterCriticalServiceAfter in ms (0: never). */
  readonly deregisterAfterMs: number;
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}

export interface CheckDefinition {
  readonly CheckID: string;
  readonly Name: string;
  readonly Status: ServiceCheckStatus;
  readonly Notes: string;
  readonly ttlMs: number;
  readonly deregisterAfterMs: number;
}

export interface ServiceDefinition extends Omit<AgentServiceRecord, 'CreateIndex' | 'ModifyIndex'> {
  readonly checks: readonly CheckDefinition[];
}

export const MAINTENANCE_PREFIX = '_service_maintenance:';

export class ServiceCatalog {
  #store: ConsulStore;
  #time: VirtualTime;
  #services = new Map<string, AgentServiceRecord>();
  #checks = new Map<string, AgentCheckRecord>();
  #ttlTimers = new Map<string, TimerHandle>();
  #reapTimers = new Map<string, TimerHandle>();
  /** The index of the last change to each service name (kept after it is gone). */
  #nameIndex = new Map<string, number>();
  #catalogIndex = 0;

  constructor(store: ConsulStore, time: VirtualTime) {
    this.#store = store;
    this.#time = time;
  }

  // ---- reads ---------------------------------------------------------------------------

  service(id: string): AgentServiceRecord | undefined {
    return this.#services.get(id);
  }

  services(): AgentServiceRecord[] {
    return [...this.#services.values()];
  }

  check(id: string): AgentCheckRecord | undefined {
    return this.#checks.get(id);
  }

  checks(): AgentCheckRecord[] {
    return [...this.#checks.values()];
  }

  checksOf(serviceId: string): AgentCheckRecord[] {
    return this.checks().filter((c) => c.ServiceID === serviceId);
  }

  /** The instances of `name`, in registration order. */
  instances(name: string): AgentServiceRecord[] {
    return this.services().filter((s) => s.Service === name);
  }

  /** The index a health query on `name` answers with. */
  indexOf(name: string): number {
    return this.#nameIndex.get(name) ?? this.#catalogIndex;
  }

  get catalogIndex(): number {
    return this.#catalogIndex;
  }

  // ---- writes --------------------------------------------------------------------------

  register(def: ServiceDefinition): void {
    const idx = this.#store.takeIndex();
    const names = new Set([def.Service]);
    const old = this.#services.get(def.ID);
    if (old !== undefined) {
      names.add(old.Service);
      // Re-registration replaces the service's checks (Consul keeps their status when they are the same check).
      for (const c of this.checksOf(def.ID)) if (!def.checks.some((d) => d.CheckID === c.CheckID)) this.#dropCheck(c.CheckID);
    }
    this.#services.set(def.ID, {
      ID: def.ID, Service: def.Service, Tags: [...def.Tags], Address: def.Address, Port: def.Port, Meta: { ...def.Meta },
      CreateIndex: old?.CreateIndex ?? idx, ModifyIndex: idx,
    });
    for (const d of def.checks) {
      const existing = this.#checks.get(d.CheckID);
      this.#putCheck({
        CheckID: d.CheckID, Name: d.Name, Status: existing?.Status ?? d.Status, Notes: d.Notes, Output: existing?.Output ?? '',
        ServiceID: def.ID, ServiceName: def.Service, ttlMs: d.ttlMs, deregisterAfterMs: d.deregisterAfterMs,
        CreateIndex: existing?.CreateIndex ?? idx, ModifyIndex: idx,
      });
      if (d.ttlMs > 0) this.#armTtl(d.CheckID, d.ttlMs);
    }
    this.#catalogIndex = idx;
    this.#changed(idx, names);
  }

  /** False when no such service is registered. */
  deregister(id: string): boolean {
    const service = this.#services.get(id);
    if (service === undefined) return false;
    const idx = this.#store.takeIndex();
    this.#services.delete(id);
    for (const c of this.checksOf(id)) this.#dropCheck(c.CheckID);
    this.#catalogIndex = idx;
    this.#changed(idx, new Set([service.Service]));
    return true;
  }

  /** A TTL check's update (pass, warn, fail, update): restarts its TTL; false when unknown or not a TTL check. */
  updateTtl(checkId: string, status: ServiceCheckStatus, output: string): boolean {
    const check = this.#checks.get(checkId);
    if (check === undefined || check.ttlMs === 0) return false;
    this.#setStatus(check, status, output);
    return true;
  }

  /** Enables or disables maintenance; false when the service is unknown. */
  maintenance(serviceId: string, enable: boolean, reason: string): boolean {
    const service = this.#services.get(serviceId);
    if (service === undefined) return false;
    const id = `${MAINTENANCE_PREFIX}${serviceId}`;
    if (enable === this.#checks.has(id)) return true;
    const idx = this.#store.takeIndex();
    if (enable) {
      this.#putCheck({
        CheckID: id, Name: 'Service Maintenance Mode', Status: 'critical',
        Notes: reason === '' ? 'Maintenance mode is enabled for this service, but no reason was provided. This is a default message.' : reason,
        Output: '', ServiceID: serviceId, ServiceName: service.Service, ttlMs: 0, deregisterAfterMs: 0, CreateIndex: idx, ModifyIndex: idx,
      });
    } else {
      this.#dropCheck(id);
    }
    this.#changed(idx, new Set([service.Service]));
    return true;
  }

  stop(): void {
    for (const t of [...this.#ttlTimers.values(), ...this.#reapTimers.values()]) t.cancel();
    this.#ttlTimers.clear();
    this.#reapTimers.clear();
  }

  // ---- internals -----------------------------------------------------------------------

  #setStatus(check: AgentCheckRecord, status: ServiceCheckStatus, output: string): void {
    if (check.ttlMs > 0) this.#armTtl(check.CheckID, check.ttlMs);
    if (check.Status === status && check.Output === output) return;
    const idx = this.#store.takeIndex();
    this.#putCheck({ ...check, Status: status, Output: output, ModifyIndex: idx });
    this.#changed(idx, new Set([check.ServiceName]));
  }

  #putCheck(check: AgentCheckRecord): void {
    this.#checks.set(check.CheckID, check);
    const reap = this.#reapTimers.get(check.CheckID);
    if (check.Status !== 'critical' || check.deregisterAfterMs === 0) {
      reap?.cancel();
      this.#reapTimers.delete(check.CheckID);
    } else if (reap === undefined) {
      this.#reapTimers.set(check.CheckID, this.#time.after(check.deregisterAfterMs, () => {
        this.#reapTimers.delete(check.CheckID);
        if (this.#checks.get(check.CheckID)?.Status === 'critical') this.deregister(check.ServiceID);
      }));
    }
  }

  #dropCheck(id: string): void {
    this.#checks.delete(id);
    for (const timers of [this.#ttlTimers, this.#reapTimers]) {
      timers.get(id)?.cancel();
      timers.delete(id);
    }
  }

  #armTtl(id: string, ttlMs: number): void {
    this.#ttlTimers.get(id)?.cancel();
    this.#ttlTimers.set(id, this.#time.after(ttlMs, () => {
      this.#ttlTimers.delete(id);
      const check = this.#checks.get(id);
      if (check === undefined) return;
      this.#setStatusExpired(check);
    }));
  }

  #setStatusExpired(check: AgentCheckRecord): void {
    const idx = this.#store.takeIndex();
    this.#putCheck({ ...check, Status: 'critical', Output: 'TTL expired', ModifyIndex: idx });
    this.#changed(idx, new Set([check.ServiceName]));
  }

  #changed(idx: number, names: ReadonlySet<string>): void {
    for (const name of names) this.#nameIndex.set(name, idx);
    this.#store.publish({ keys: new Set(), sessions: new Set(), nodes: new Set(), abandon: false, invalidated: [], services: names });
  }
}
