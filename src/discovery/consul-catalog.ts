// The catalog over Consul: a blocking query on /v1/catalog/services for the names and tags, and
// one on /v1/health/service/<name> per service for its instances and their checks, each from
// the X-Consul-Index of its last answer (an index that goes back starts that query over from a
// plain read, as Consul's blocking-query rules ask). A failed query backs off and retries; the
// templates keep the last catalog meanwhile.

import type { Logger } from '../core/log.ts';
import { errorText } from '../core/error-text.ts';
import { exponentialBackoff, sleep } from '../core/process-control/backoff.ts';
import type { ConsulAgentHttp } from '../stores/consul/agent-http.ts';
import { CatalogState, type Catalog } from './catalog.ts';
import { aggregatedStatus, sortedTags, type HealthCheck, type HealthService } from './instance.ts';

export interface ConsulCatalogTiming {
  /** The wait of each blocking query. */
  readonly waitMs: number;
  readonly requestTimeoutMs: number;
}

const DEFAULT_TIMING: ConsulCatalogTiming = { waitMs: 60_000, requestTimeoutMs: 5000 };

interface HealthEntry {
  Node?: { Node?: string; Address?: string; Datacenter?: string };
  Service?: { ID?: string; Service?: string; Tags?: string[] | null; Address?: string; Port?: number; Meta?: Record<string, string> | null };
  Checks?: HealthCheck[] | null;
}

export function healthServiceOf(entry: HealthEntry): HealthService | undefined {
  const node = entry.Node ?? {};
  const service = entry.Service ?? {};
  if (typeof service.ID !== 'string' || typeof service.Service !== 'string') return undefined;
  const checks = (entry.Checks ?? []).map((c) => ({
    Node: c.Node ?? '', CheckID: c.CheckID ?? '', Name: c.Name ?? '', Status: c.Status ?? '', Notes: c.Notes ?? '', Output: c.Output ?? '',
    ServiceID: c.ServiceID ?? '', ServiceName: c.ServiceName ?? '',
  }));
  return {
    Node: node.Node ?? '',
    NodeAddress: node.Address ?? '',
    NodeDatacenter: node.Datacenter ?? '',
    Address: service.Address !== undefined && service.Address !== '' ? service.Address : (node.Address ?? ''),
    ID: service.ID,
    Name: service.Service,
    Tags: sortedTags(service.Tags),
    ServiceMeta: service.Meta ?? {},
    Port: service.Port ?? 0,
    Status: aggregatedStatus(checks),
    Checks: checks,
  };
}

export function consulCatalog(http: ConsulAgentHttp, log: Logger, timing: Partial<ConsulCatalogTiming> = {}): Catalog {
  const t = { ...DEFAULT_TIMING, ...timing };
  const state = new CatalogState();
  const watched = new Map<string, AbortController>();

  /** One blocking-query loop; `apply` gets each new answer; resolves `first` after the first one. */
  async function follow(path: string, apply: (body: unknown) => void, signal: AbortSignal, first: () => void): Promise<void> {
    const retry = exponentialBackoff({ initialMs: 200, maxMs: 10_000, factor: 2, jitter: 0.2 });
    let index = 0;
    let failing = false;
    while (!signal.aborted) {
      const blocking = index > 0;
      const query = blocking ? `${path.includes('?') ? '&' : '?'}index=${index}&wait=${t.waitMs}ms` : '';
      try {
        const answer = await http.call({
          method: 'GET',
          path: `${path}${query}`,
          timeoutMs: blocking ? t.waitMs + Math.ceil(t.waitMs / 16) + t.requestTimeoutMs : t.requestTimeoutMs,
          signal,
        });
        if (failing) log.info(`service catalog: ${path} answers again`);
        failing = false;
        retry.reset();
        const next = answer.index ?? 1;
        if (next < index) {
          index = 0;
          continue;
        }
        if (next !== index || !blocking) apply(JSON.parse(answer.body) as unknown);
        first();
        index = Math.max(1, next);
      } catch (error) {
        if (signal.aborted) return;
        const delay = retry.next();
        if (!failing) log.warn(`service catalog: ${path}: ${errorText(error)}; retrying (templates keep the last catalog)`);
        failing = true;
        index = 0;
        first();
        await sleep(delay, signal).catch(() => undefined);
      }
    }
  }

  return {
    where: `Consul ${http.url}`,
    instances: (name) => state.instances(name),
    services: () => state.services(),
    async start(onChange, signal) {
      let starting: Promise<void>[] | undefined = [];
      const watchService = (name: string): void => {
        const stop = new AbortController();
        watched.set(name, stop);
        const both = AbortSignal.any([signal, stop.signal]);
        let loaded!: () => void;
        const first = new Promise<void>((resolve) => (loaded = resolve));
        starting?.push(first);
        void follow(`/health/service/${encodeURIComponent(name)}`, (body) => {
          const instances = Array.isArray(body) ? (body as HealthEntry[]).flatMap((e) => healthServiceOf(e) ?? []) : [];
          if (!both.aborted && state.setService(name, instances) && starting === undefined) onChange();
        }, both, () => loaded());
      };
      let catalogLoaded!: () => void;
      const catalogFirst = new Promise<void>((resolve) => (catalogLoaded = resolve));
      void follow('/catalog/services', (body) => {
        const declared = new Map<string, readonly string[]>(Object.entries((body ?? {}) as Record<string, string[] | null>).map(([n, tags]) => [n, tags ?? []]));
        for (const [name, stop] of watched) {
          if (!declared.has(name)) {
            stop.abort();
            watched.delete(name);
          }
        }
        for (const name of declared.keys()) if (!watched.has(name)) watchService(name);
        if (state.declare(declared) && starting === undefined) onChange();
      }, signal, () => catalogLoaded());
      await catalogFirst;
      await Promise.all(starting ?? []);
      starting = undefined;
    },
    async close() {
      for (const stop of watched.values()) stop.abort();
      watched.clear();
      http.close();
    },
  };
}
