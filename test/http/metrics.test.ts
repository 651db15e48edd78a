// /metrics: Prometheus' text format, read by a parser library and by a real Prometheus server
// (Debian's `prometheus`, installed by .ci/run), which scrapes steward and answers a query.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { fileConfig, freePort } from '../support/operator.ts';
import { APP, NODE, startSteward, stopAllStewards } from '../support/steward.ts';
import { until } from '../support/until.ts';

afterEach(stopAllStewards);

interface Family {
  readonly name: string;
  readonly type: string;
  readonly metrics: readonly { readonly value?: string; readonly count?: string; readonly labels?: Record<string, string>; readonly buckets?: Record<string, string> }[];
}

const parsePrometheus = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => Family[];

/** Labels the default process metrics carry, beside steward's own resource, job and outcome. */
const ALLOWED_LABELS = new Set(['resource', 'job', 'outcome', 'version', 'major', 'minor', 'patch', 'space', 'kind', 'type']);

async function scrape(port: number): Promise<Family[]> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parsePrometheus(await res.text());
}

/** Observations of a histogram with one label set (the parser keeps its buckets, not its labels). */
function observations(families: readonly Family[], name: string): number | undefined {
  const family = families.find((f) => f.name === name);
  assert.equal(family?.type, 'HISTOGRAM');
  const buckets = family?.metrics.map((m) => Number(m.buckets?.['+Inf'] ?? 0));
  return buckets === undefined ? undefined : buckets.reduce((a, b) => a + b, 0);
}

function value(families: readonly Family[], name: string, labels: Record<string, string> = {}): number | undefined {
  const family = families.find((f) => f.name === name);
  const metric = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  const raw = metric?.value ?? metric?.count;
  return raw === undefined ? undefined : Number(raw);
}

describe('the metrics endpoint', () => {
  it('counts renders, reloads and watch latency by resource, in a format a parser reads', async () => {
    const port = await freePort();
    const c = fileConfig('app:\n  host: s3cr3t-db\n');
    const s = startSteward([NODE, APP], { env: { ...c.env, STEWARD_CONTROL_SOCKET: 'off', STEWARD_METRICS_ADDR: `127.0.0.1:${port}` } });
    await s.line(/^ready/);
    const before = await scrape(port);
    assert.equal(value(before, 'steward_renders_total', { resource: 'app.toml' }), 1);
    assert.equal(value(before, 'steward_reloads_total', { resource: 'app.toml' }), undefined);
    c.setValues('app:\n  host: s3cr3t-db2\n');
    await s.line(/^got SIGHUP$/);
    const families = await until('the reload to be counted', async () => {
      const f = await scrape(port);
      return value(f, 'steward_reloads_total', { resource: 'app.toml' }) === 1 ? f : undefined;
    });
    assert.equal(value(families, 'steward_renders_total', { resource: 'app.toml' }), 2);
    assert.equal(value(families, 'steward_render_errors_total', { resource: 'app.toml' }) ?? 0, 0);
    assert.equal(observations(families, 'steward_render_duration_seconds'), 2);
    assert.equal(observations(families, 'steward_watch_latency_seconds'), 1);
    assert.equal(value(families, 'steward_app_health'), 1);
    assert.equal(value(families, 'steward_is_leader'), 0);
    assert.equal(value(families, 'steward_restarts_total'), 0);
    assert.ok((value(families, 'steward_process_cpu_seconds_total') ?? 0) > 0);
    assert.ok((value(families, 'steward_process_resident_memory_bytes') ?? 0) > 0);
    for (const family of families) {
      assert.match(family.name, /^steward_/);
      for (const metric of family.metrics) {
        for (const [label, v] of Object.entries(metric.labels ?? {})) {
          assert.ok(ALLOWED_LABELS.has(label), `${family.name} has the label ${label}`);
          assert.doesNotMatch(v, /s3cr3t|\/app/, `${family.name}{${label}} shows a value or a key`);
        }
      }
    }
    await s.signal('SIGTERM');
    await s.exited;
  });
});

describe('a real Prometheus scraping steward', { skip: existsSync('/usr/bin/prometheus') ? false : 'prometheus is not installed (apt-get install prometheus)' }, () => {
  let prometheus: ChildProcess | undefined;
  after(() => {
    prometheus?.kill('SIGKILL');
  });

  it('reads steward_reloads_total back through its query API after a key change', async () => {
    const metricsPort = await freePort();
    const promPort = await freePort();
    const c = fileConfig('app:\n  host: db1\n');
    const s = startSteward([NODE, APP], { env: { ...c.env, STEWARD_CONTROL_SOCKET: 'off', STEWARD_METRICS_ADDR: String(metricsPort) } });
    await s.line(/^ready/);
    const dir = mkdtempSync(join(tmpdir(), 'steward-prometheus-'));
    const config = join(dir, 'prometheus.yml');
    writeFileSync(config, [
      'global:',
      '  scrape_interval: 1s',
      'scrape_configs:',
      '  - job_name: steward',
      '    static_configs:',
      `      - targets: ['127.0.0.1:${metricsPort}']`,
      '',
    ].join('\n'));
    const proc = spawn('/usr/bin/prometheus', [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
      '--log.level=warn',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    prometheus = proc;
    let log = '';
    proc.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      log += chunk;
    });
    const query = async (expr: string): Promise<string | undefined> => {
      const res = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(expr)}`).catch(() => undefined);
      if (res === undefined || !res.ok) return undefined;
      const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
      return body.data.result[0]?.value[1];
    };
    await until('Prometheus to scrape steward', async () => (await query('up{job="steward"}')) === '1', 60_000, () => log);
    c.setValues('app:\n  host: db2\n');
    await s.line(/^got SIGHUP$/);
    const reloads = await until(
      'steward_reloads_total through Prometheus',
      async () => ((await query('steward_reloads_total{resource="app.toml"}')) === '1' ? '1' : undefined),
      60_000,
      () => log,
    );
    assert.equal(reloads, '1');
    proc.kill('SIGTERM');
    await new Promise((resolve) => proc.once('exit', resolve));
    prometheus = undefined;
    await s.signal('SIGTERM');
    await s.exited;
  });
});
