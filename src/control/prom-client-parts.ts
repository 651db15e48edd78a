// prom-client, imported file by file: its index also loads the push gateway (node:https), the
// cluster aggregator and, for the CPU counter's exemplars, @opentelemetry/api, about 18 MB of RSS
// that serving /metrics never uses. steward counts its CPU time itself for the same reason.

import type * as Prom from 'prom-client';

export interface PromParts {
  readonly Registry: typeof Prom.Registry;
  readonly Counter: typeof Prom.Counter;
  readonly Gauge: typeof Prom.Gauge;
  readonly Histogram: typeof Prom.Histogram;
  /** Registers Node's process metrics under `prefix`. */
  processMetrics(registry: Prom.Registry, prefix: string): void;
}

type DefaultMetric = (registry: Prom.Registry, config: { prefix: string }) => void;

// Of prom-client's default metrics, the process' own: start time, memory, file descriptors, heap.
// Left out, for what they cost an idle steward scraped every second (bench/endpoints.ts): the event
// loop lag (a timer waking the loop), GC timings (a performance observer), V8's heap spaces, the
// active handles, requests and resources, and Node's version.
const DEFAULTS = ['processStartTime', 'osMemoryHeap', 'processOpenFileDescriptors', 'processMaxFileDescriptors', 'heapSizeAndUsed'] as const;

export async function loadPromClient(): Promise<PromParts> {
  const [registry, counter, gauge, histogram, ...defaults] = await Promise.all([
    import('prom-client/lib/registry.js'),
    import('prom-client/lib/counter.js'),
    import('prom-client/lib/gauge.js'),
    import('prom-client/lib/histogram.js'),
    ...DEFAULTS.map((name) => import(`prom-client/lib/metrics/${name}.js`) as Promise<{ default: unknown }>),
  ]);
  const Counter = counter.default as typeof Prom.Counter;
  return {
    Registry: registry.default as typeof Prom.Registry,
    Counter,
    Gauge: gauge.default as typeof Prom.Gauge,
    Histogram: histogram.default as typeof Prom.Histogram,
    processMetrics(reg, prefix) {
      for (const d of defaults) (d.default as DefaultMetric)(reg, { prefix });
      const cpu = (name: string, help: string, read: (u: NodeJS.CpuUsage) => number) =>
        new Counter({
          name: `${prefix}${name}`,
          help,
          registers: [reg],
          collect() {
            const seconds = read(process.cpuUsage()) / 1e6;
            this.reset();
            this.inc(seconds);
          },
        });
      cpu('process_cpu_user_seconds_total', 'User CPU time spent, in seconds.', (u) => u.user);
      cpu('process_cpu_system_seconds_total', 'System CPU time spent, in seconds.', (u) => u.system);
      cpu('process_cpu_seconds_total', 'User and system CPU time spent, in seconds.', (u) => u.user + u.system);
    },
  };
}
