// Parse and render timings of the 'go' engine on a ~200-line confd-style template.
// Run: ./node_modules/.bin/node bench/render-go.ts

import { performance } from 'node:perf_hooks';
import { KvStore } from '../src/render/confd/store.ts';
import { GoTime, UTC } from '../src/render/go/time.ts';
import { createGoEngine } from '../src/render/go-engine.ts';

function buildKeys(): Map<string, string> {
  const keys = new Map<string, string>();
  keys.set('/nginx/worker_processes', '4');
  keys.set('/nginx/domain', 'example.com');
  keys.set('/nginx/root', '/var/www/example');
  for (let i = 1; i <= 20; i++) keys.set(`/app/upstream/app${i}`, `10.0.1.${i}:80`);
  for (const cust of ['acme', 'globex', 'initech', 'umbrella']) {
    for (let i = 1; i <= 5; i++) {
      keys.set(`/services/web/${cust}/${i}`, JSON.stringify({ IP: `10.1.${i}.${cust.length}`, port: 8000 + i, weight: i * 1.5 }));
    }
  }
  for (let i = 1; i <= 10; i++) keys.set(`/prometheus/nodes/n${i}`, `10.2.0.${i}:9100`);
  keys.set('/features', JSON.stringify({ gzip: true, http2: false, cache: { size: 1048576, ttl: 300 } }));
  return keys;
}

function buildTemplate(): string {
  const lines: string[] = [
    '# Generated for {{ getv "/nginx/domain" }}',
    'worker_processes {{ getv "/nginx/worker_processes" }};',
    '{{- $features := json (getv "/features") }}',
    'events { worker_connections {{ mul (atoi (getv "/nginx/worker_processes")) 1024 }}; }',
    'http {',
    '  gzip {{ if $features.gzip }}on{{ else }}off{{ end }};',
    '  proxy_cache_size {{ printf "%.0f" $features.cache.size }};',
    '  upstream app {',
    '  {{- range $i, $s := getvs "/app/upstream/*" }}',
    '    server {{ $s }} weight={{ add $i 1 }};',
    '  {{- end }}',
    '  }',
  ];
  // Per-customer blocks, each a range with json decoding and printf.
  for (const cust of ['acme', 'globex', 'initech', 'umbrella']) {
    lines.push(
      `  {{- $dir := "/services/web/${cust}" }}`,
      `  upstream {{ base $dir }} {`,
      `  {{- range gets (printf "%s/*" $dir) }}`,
      '    {{- $d := json .Value }}',
      '    server {{ $d.IP }}:{{ $d.port }} weight={{ printf "%.1f" $d.weight }}; # {{ base .Key }}',
      '  {{- end }}',
      '  }',
      '  server {',
      `    server_name {{ base $dir }}.{{ getv "/nginx/domain" }};`,
      `    root {{ getv "/nginx/root" }}/{{ toUpper (base $dir) }};`,
      '    {{- if exists "/nginx/ssl" }}',
      '    ssl on;',
      '    {{- else }}',
      '    listen 80;',
      '    {{- end }}',
      '    location / {',
      `      proxy_pass http://{{ base $dir }};`,
      '      proxy_set_header Host $host;',
      '      proxy_set_header X-Real-IP $remote_addr;',
      '    }',
      '  }',
    );
  }
  lines.push('}');
  lines.push('# prometheus targets');
  lines.push('{{- range $n := ls "/prometheus/nodes" }}');
  lines.push('- {{ getv (printf "/prometheus/nodes/%s" $n) }} {{ len $n }}');
  lines.push('{{- end }}');
  // Pad to ~200 lines with a mix of plain text, conditionals and arithmetic.
  let i = 0;
  while (lines.length < 200) {
    i++;
    lines.push(`# line ${i}: {{ if eq (mod ${i} 3) 0 }}fizz{{ else }}{{ sub ${i * 7} ${i} }}{{ end }} {{ replace "a.b.c" "." "-" -1 }}`);
  }
  return lines.join('\n') + '\n';
}

const engine = createGoEngine({ now: () => new GoTime(0, 0, UTC), dns: { lookupIP: () => null, lookupSRV: () => null } });
const text = buildTemplate();
const store = new KvStore(buildKeys());
const ctx = { store, env: {}, extras: {} };

const parseRuns = 200;
let t0 = performance.now();
let compiled = engine.compile('bench.tmpl', text);
for (let i = 1; i < parseRuns; i++) compiled = engine.compile('bench.tmpl', text);
const parseMs = (performance.now() - t0) / parseRuns;

for (let i = 0; i < 500; i++) compiled.render(ctx); // warm up
const samples: number[] = [];
for (let i = 0; i < 3000; i++) {
  t0 = performance.now();
  compiled.render(ctx);
  samples.push(performance.now() - t0);
}
samples.sort((a, b) => a - b);
const pct = (p: number): number => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))] as number;
const out = compiled.render(ctx);

const rows: [string, string][] = [
  ['template lines', String(text.split('\n').length - 1)],
  ['output bytes', String(Buffer.byteLength(out, compiled.encoding))],
  ['parse (mean)', `${parseMs.toFixed(3)} ms`],
  ['render p50', `${pct(0.5).toFixed(3)} ms`],
  ['render p99', `${pct(0.99).toFixed(3)} ms`],
];
const w = Math.max(...rows.map((r) => r[0].length));
for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
if (pct(0.5) >= 1) {
  console.error('render p50 is over the 1 ms budget');
  process.exitCode = 1;
}
