// The service catalog a steward reads for its templates, kept up to date by a watch on the store
// (Consul's blocking queries, etcd's watch, the shared directory's inotify): never polled.

import { byteOrder, sortedTags, type CatalogEntry, type HealthService } from './instance.ts';
import type { CatalogSnapshot } from './functions.ts';

export interface Catalog extends CatalogSnapshot {
  /** Where, for logs. */
  readonly where: string;
  /** Reads everything once (resolves then), and watches from there; `onChange` hears of each change. */
  start(onChange: () => void, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** Instances by service name, and by id within a name. */
export class CatalogState {
  #byName = new Map<string, Map<string, HealthService>>();
  /** Services Consul lists with their tags even when they have no instance (yet). */
  #declared = new Map<string, readonly string[]>();

  instances(name: string): readonly HealthService[] {
    return [...(this.#byName.get(name)?.values() ?? [])];
  }

  services(): readonly CatalogEntry[] {
    const names = new Set([...this.#byName.keys(), ...this.#declared.keys()]);
    return [...names].sort(byteOrder).map((Name) => ({
      Name,
      Tags: sortedTags([...(this.#declared.get(Name) ?? []), ...[...(this.#byName.get(Name)?.values() ?? [])].flatMap((i) => i.Tags)]),
    }));
  }

  /** Replaces the instances of one service; true when anything changed. */
  setService(name: string, instances: readonly HealthService[]): boolean {
    const before = JSON.stringify(this.instances(name));
    if (instances.length === 0) this.#byName.delete(name);
    else this.#byName.set(name, new Map(instances.map((i) => [i.ID, i])));
    return JSON.stringify(this.instances(name)) !== before;
  }

  /** Replaces every service (a full read); true when anything changed. */
  replaceAll(instances: readonly HealthService[], declared?: ReadonlyMap<string, readonly string[]>): boolean {
    const before = this.#fingerprint();
    this.#byName.clear();
    for (const i of instances) {
      let byId = this.#byName.get(i.Name);
      if (byId === undefined) this.#byName.set(i.Name, (byId = new Map()));
      byId.set(i.ID, i);
    }
    if (declared !== undefined) this.#declared = new Map(declared);
    return this.#fingerprint() !== before;
  }

  /** Only the names and tags (Consul's /v1/catalog/services); true when they changed. */
  declare(declared: ReadonlyMap<string, readonly string[]>): boolean {
    const before = JSON.stringify([...this.#declared]);
    this.#declared = new Map(declared);
    for (const name of [...this.#byName.keys()]) if (!declared.has(name)) this.#byName.delete(name);
    return JSON.stringify([...this.#declared]) !== before;
  }

  #fingerprint(): string {
    return JSON.stringify([...this.#byName.keys()].sort(byteOrder).map((n) => [n, this.instances(n)]));
  }
}
