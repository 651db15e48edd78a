// Prometheus metrics from the bus, through prom-client, loaded only when STEWARD_METRICS_ADDR is
// set. Labels are resource and job names (and a job run's outcome), never keys or values.

import type { Bus } from '../core/bus.ts';
import type { Role } from '../core/events.ts';
import { loadPromClient } from './prom-client-parts.ts';
import type { StatusBoard } from './status-board.ts';

export interface Metrics {
  readonly contentType: string;
  text(): Promise<string>;
  stop(): void;
}

const SECONDS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const JOB_SECONDS = [0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600];
const HEALTH_VALUE = { unhealthy: 0, healthy: 1, starting: 2 } as const;

/** Subscribes to the bus at once; call before the parts start. */
export async function createMetrics(bus: Bus, board: StatusBoard): Promise<Metrics> {
  const prom = await loadPromClient();
  const registry = new prom.Registry();
  prom.processMetrics(registry, 'steward_');
  const opts = <N extends string>(name: string, help: string, labelNames: readonly N[]) => ({ name, help, labelNames, registers: [registry] });

  const renders = new prom.Counter(opts('steward_renders_total', 'Renders of a template resource, whatever their outcome.', ['resource']));
  const renderErrors = new prom.Counter(opts('steward_render_errors_total', 'Renders that failed (the last good file stayed).', ['resource']));
  const renderSeconds = new prom.Histogram({ ...opts('steward_render_duration_seconds', 'Time to render, check and install one resource.', ['resource']), buckets: SECONDS });
  const watchSeconds = new prom.Histogram({ ...opts('steward_watch_latency_seconds', 'From a key change seen by the watch to the new file installed.', ['resource']), buckets: SECONDS });
  const reloads = new prom.Counter(opts('steward_reloads_total', 'Reloads a written file asked of the app (signal, restart or reload_cmd).', ['resource']));
  const restarts = new prom.Counter(opts('steward_restarts_total', 'Times the app was restarted after it exited.', []));
  const backendErrors = new prom.Counter(opts('steward_backend_errors_total', 'Times the template backend was reported unreachable.', []));
  const reconnects = new prom.Counter(opts('steward_backend_reconnects_total', 'Times the template backend became reachable again.', []));
  const transitions = new prom.Counter(opts('steward_leader_transitions_total', "Changes of this replica's role.", []));
  const isLeader = new prom.Gauge(opts('steward_is_leader', '1 while this replica leads, else 0.', []));
  const jobRuns = new prom.Counter(opts('steward_job_runs_total', 'Job and backup runs by outcome (ok or failed).', ['job', 'outcome']));
  const jobSeconds = new prom.Histogram({ ...opts('steward_job_duration_seconds', 'Duration of job and backup runs.', ['job']), buckets: JOB_SECONDS });
  new prom.Gauge({
    ...opts('steward_app_health', "The app's health: 1 healthy, 0 unhealthy, 2 starting.", []),
    collect() {
      this.set(HEALTH_VALUE[board.health().status]);
    },
  });

  let role: Role | undefined;
  let unreachable = false;
  const offs = [
    bus.on('resource.rendered', (e) => {
      const labels = { resource: e.resource };
      renders.inc(labels);
      if (e.error !== undefined) renderErrors.inc(labels);
      renderSeconds.observe(labels, e.durationMs / 1000);
      if (e.watchLatencyMs !== undefined) watchSeconds.observe(labels, e.watchLatencyMs / 1000);
    }),
    bus.on('resource.reloaded', (e) => reloads.inc({ resource: e.resource })),
    bus.on('app.exited', (e) => {
      if (e.restarting) restarts.inc();
    }),
    bus.on('backend.status', (e) => {
      if (e.state === 'unreachable') backendErrors.inc();
      else if (unreachable) reconnects.inc();
      unreachable = e.state === 'unreachable';
    }),
    bus.on('role.changed', (e) => {
      if ((role ?? 'follower') !== e.role) transitions.inc();
      role = e.role;
      isLeader.set(e.role === 'leader' ? 1 : 0);
    }),
    bus.on('job.finished', (r) => {
      jobRuns.inc({ job: r.job, outcome: r.ok ? 'ok' : 'failed' });
      jobSeconds.observe({ job: r.job }, r.durationMs / 1000);
    }),
  ];
  isLeader.set(0);
  restarts.inc(0);
  backendErrors.inc(0);
  reconnects.inc(0);
  transitions.inc(0);

  return {
    contentType: registry.contentType,
    text: () => registry.metrics(),
    stop() {
      for (const off of offs) off();
      registry.clear();
    },
  };
}
