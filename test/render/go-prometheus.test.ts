// The confd-sidecar case: a Prometheus configuration rendered from keys, as confd writes it.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KvStore } from '../../src/render/confd/store.ts';
import { createGoEngine } from '../../src/render/go-engine.ts';

const template = `global:
  scrape_interval: {{ getv "/prometheus/config/scrape_interval" "15s" }}

scrape_configs:
  - job_name: 'nodes'
    static_configs:
      - targets: {{ getv "/prometheus/config/nodes" }}
  - job_name: 'services'
    static_configs:
{{- range $svc := lsdir "/prometheus/services" }}
      - targets:
{{- range getvs (printf "/prometheus/services/%s/*" $svc) }}
          - '{{ . }}'
{{- end }}
        labels:
          service: {{ $svc }}
{{- end }}
`;

// Produced by confd's Go (text/template, Go 1.19) for the keys below.
const expected = `global:
  scrape_interval: 15s

scrape_configs:
  - job_name: 'nodes'
    static_configs:
      - targets: ['10.0.0.1:9100', '10.0.0.2:9100']
  - job_name: 'services'
    static_configs:
      - targets:
          - '10.1.0.1:8080'
          - '10.1.0.2:8080'
        labels:
          service: api
      - targets:
          - '10.2.0.1:80'
        labels:
          service: web
`;

test('the confd-sidecar Prometheus template renders as confd renders it', () => {
  const store = new KvStore([
    ['/prometheus/config/nodes', "['10.0.0.1:9100', '10.0.0.2:9100']"],
    ['/prometheus/services/api/i2', '10.1.0.2:8080'],
    ['/prometheus/services/api/i1', '10.1.0.1:8080'],
    ['/prometheus/services/web/i1', '10.2.0.1:80'],
  ]);
  const t = createGoEngine().compile('prometheus.yml.tmpl', template);
  assert.equal(t.render({ store, env: {}, extras: {} }), expected);
});

test('a missing node list stops the render with confd\'s error', () => {
  const t = createGoEngine().compile('prometheus.yml.tmpl', template);
  assert.throws(() => t.render({ store: new KvStore(), env: {}, extras: {} }), {
    name: 'TemplateError',
    message:
      'template: prometheus.yml.tmpl:7:20: executing "prometheus.yml.tmpl" at <getv "/prometheus/config/nodes">: ' +
      'error calling getv: key does not exist: /prometheus/config/nodes',
    line: 7,
    column: 20,
    key: '/prometheus/config/nodes',
  });
});
