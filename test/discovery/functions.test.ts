// `service` and `services` as templates call them, in both engines: consul-template's query
// forms and filters, its sort order (node, then id), sorted tags, and HealthService fields.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { KvStore, loadGoEngine, loadNunjucksEngine } from '../../src/render/index.ts';
import { discoveryFunctions, parseServiceQuery } from '../../src/discovery/functions.ts';
import { CatalogState } from '../../src/discovery/catalog.ts';
import { aggregatedStatus, type HealthService } from '../../src/discovery/instance.ts';

function instance(id: string, node: string, status: string, tags: string[] = [], extra: Partial<HealthService> = {}): HealthService {
  const checks = [{ Node: node, CheckID: `service:${id}`, Name: 'ttl', Status: status, Notes: '', Output: `out-${id}`, ServiceID: id, ServiceName: 'web' }];
  return {
    Node: node, NodeAddress: '10.0.0.9', NodeDatacenter: 'dc1', Address: `10.0.0.${id.slice(-1)}`, ID: id, Name: 'web', Tags: tags,
    ServiceMeta: { zone: 'z' }, Port: 80, Status: aggregatedStatus(checks), Checks: checks, ...extra,
  };
}

const state = new CatalogState();
state.replaceAll([
  instance('web-3', 'b-node', 'passing', ['x']),
  instance('web-2', 'a-node', 'passing'),
  instance('web-1', 'b-node', 'passing', ['x', 'y']),
  instance('web-4', 'a-node', 'warning'),
  instance('web-5', 'a-node', 'critical', ['x']),
  { ...instance('db-1', 'a-node', 'passing', ['primary']), Name: 'db' },
]);
const extras = discoveryFunctions(state);
const ctx = { store: new KvStore([]), env: {}, extras };

describe('service queries', () => {
  test('forms and filters', () => {
    assert.deepEqual(parseServiceQuery('web'), { name: 'web', tag: undefined, filters: ['passing'] });
    assert.deepEqual(parseServiceQuery('v1.2.web|warning, passing'), { name: 'web', tag: 'v1.2', filters: ['passing', 'warning'] });
    assert.deepEqual(parseServiceQuery('web@dc2~node|any'), { name: 'web', tag: undefined, filters: ['any'] });
    assert.throws(() => parseServiceQuery('web|bogus'), /invalid filter: "bogus"/);
    assert.throws(() => parseServiceQuery('a b'), /invalid format/);
  });

  test('only passing by default, sorted by node then id; tags and filters narrow it', async () => {
    const go = await loadGoEngine({ extraFunctionNames: Object.keys(extras) });
    const render = (text: string) => go.compile('t', text).render(ctx);
    assert.equal(render('{{ range service "web" }}{{ .Node }}/{{ .ID }} {{ end }}'), 'a-node/web-2 b-node/web-1 b-node/web-3 ');
    assert.equal(render('{{ range service "x.web" }}{{ .ID }} {{ end }}'), 'web-1 web-3 ');
    assert.equal(render('{{ range service "web|passing,warning" }}{{ .ID }} {{ end }}'), 'web-2 web-4 web-1 web-3 ');
    assert.equal(render('{{ range service "web" "any" }}{{ .ID }}={{ .Status }} {{ end }}'), 'web-2=passing web-4=warning web-5=critical web-1=passing web-3=passing ');
    assert.equal(
      render('{{ with index (service "web") 0 }}{{ .Address }}:{{ .Port }} {{ .NodeAddress }} {{ .NodeDatacenter }} {{ .Name }} {{ .ServiceMeta.zone }} {{ (index .Checks 0).Output }}{{ end }}'),
      '10.0.0.2:80 10.0.0.9 dc1 web z out-web-2',
    );
    assert.equal(render('{{ range services }}{{ .Name }}:{{ join .Tags "," }} {{ end }}'), 'db:primary web:x,y ');
    go.close();
  });

  test('the same in nunjucks', async () => {
    const nj = await loadNunjucksEngine();
    const render = (text: string) => nj.compile('t', text).render(ctx);
    assert.equal(render('{% for s in service("web") %}{{ s.ID }}@{{ s.Address }} {% endfor %}'), 'web-2@10.0.0.2 web-1@10.0.0.1 web-3@10.0.0.3 ');
    assert.equal(render('{% for s in services() %}{{ s.Name }}={{ s.Tags | join(",") }} {% endfor %}'), 'db=primary web=x,y ');
  });
});
