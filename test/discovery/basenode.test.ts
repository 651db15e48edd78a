// The docker-basenode scenario, run with steward: two HTTP backends register in Consul (the
// double) through their stewards, from their health; a third steward renders haproxy's
// configuration from `service "web"` and reloads haproxy gracefully (master-worker, SIGUSR2).
// A client loop through haproxy on 127.0.0.1 sees no failed request while a backend is added
// and while one is stopped with SIGTERM (it deregisters first); a backend made unhealthy stops
// getting traffic within its check interval plus the render time.
//
// haproxy is the third steward's app here; once sidecars exist (STEWARD_PROCESS_<NAME>_COMMAND)
// it becomes a sidecar of that steward.

import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { makeConfdir } from '../support/confdir.ts';
import { startSteward, stopAllStewards } from '../support/steward.ts';
import { until } from '../support/until.ts';
import { freePort, startBackend } from './harness.ts';
import { consulStore } from './stores.ts';

const HAPROXY = '/usr/sbin/haproxy';

afterEach(stopAllStewards);
after(stopAllStewards);

const haproxyTemplate = (port: number) => `global
  hard-stop-after 10s
defaults
  mode http
  timeout connect 1s
  timeout client 10s
  timeout server 10s
  retries 3
  option redispatch
frontend web
  bind 127.0.0.1:${port}
  default_backend web
backend web
  balance roundrobin
  http-response set-header X-Server %[srv_name]
{{- range service "web" }}
  server {{ .ID }} {{ .Address }}:{{ .Port }}
{{- end }}
`;

/** One request on a fresh connection: the status and the server haproxy chose, or the error. */
function hit(port: number): Promise<{ status: number; server: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, server: String(res.headers['x-server'] ?? '') }));
      res.on('error', (error) => resolve({ error: error.message }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (error) => resolve({ error: error.message }));
    req.end();
  });
}

/** Requests one after the other until stopped (or `max` of them); counts failures and servers. */
function clientLoop(port: number, max = 100_000) {
  let stopped = false;
  const failures: string[] = [];
  const servers = new Map<string, number>();
  let total = 0;
  const done = (async () => {
    while (!stopped && total < max) {
      const r = await hit(port);
      total++;
      if ('error' in r) failures.push(r.error);
      else if (r.status !== 200) failures.push(`HTTP ${r.status} from ${r.server}`);
      else servers.set(r.server, (servers.get(r.server) ?? 0) + 1);
    }
  })();
  return {
    failures,
    servers,
    get total() {
      return total;
    },
    async stop() {
      stopped = true;
      await done;
    },
  };
}

test('basenode: haproxy follows service "web" with no failed request while backends come and go', { skip: existsSync(HAPROXY) ? false : 'haproxy is not installed' }, async () => {
  const store = await consulStore();
  try {
    const ports = [await freePort(), await freePort(), await freePort()];
    const [p1, p2, p3] = ports as [number, number, number];
    const sickListens = { APP_SICK_LISTENS: '1', STEWARD_DEREGISTER_DELAY: '2s' };
    const web1 = startBackend(store.env, { name: 'web', id: 'web-1', port: p1, extra: sickListens });
    startBackend(store.env, { name: 'web', id: 'web-2', port: p2, extra: sickListens });
    await until('two passing backends', async () => (await store.status('web', 'web-1')) === 'passing' && (await store.status('web', 'web-2')) === 'passing', 20_000);

    const front = await freePort();
    const confdir = makeConfdir(
      {
        'haproxy.toml': `[template]\nsrc = "haproxy.cfg.tmpl"\ndest = "$OUT/haproxy.cfg"\nkeys = []\ncheck_cmd = "${HAPROXY} -c -q -f {{.src}}"\nreload = "SIGUSR2"\n`,
      },
      { 'haproxy.cfg.tmpl': haproxyTemplate(front) },
    );
    const cfg = join(confdir.out, 'haproxy.cfg');
    // haproxy is the app for now; with sidecars: STEWARD_PROCESS_HAPROXY_COMMAND.
    const lb = startSteward([HAPROXY, '-W', '-db', '-f', cfg], {
      env: { ...store.env, CONFD_CONFDIR: confdir.dir, STEWARD_LOG_LEVEL: 'debug' },
    });
    await until('haproxy to answer', async () => {
      const r = await hit(front);
      return !('error' in r) && r.status === 200;
    }, 20_000, () => lb.stderr().slice(-2000));

    const loop = clientLoop(front);
    // A backend is added: haproxy is reloaded with it, and it gets traffic.
    const web3 = startBackend(store.env, { name: 'web', id: 'web-3', port: p3, extra: sickListens });
    await until('web-3 to get traffic', () => (loop.servers.get('web-3') ?? 0) > 0, 30_000, () => readFileSync(cfg, 'utf8'));
    // A backend is stopped with SIGTERM: deregistered first, haproxy reloaded, then it stops.
    await web1.signal('SIGTERM');
    await web1.exited;
    const afterStop = loop.total;
    await until('some requests after web-1 stopped', () => loop.total > afterStop + 20, 20_000);
    await loop.stop();
    assert.deepEqual(loop.failures, [], `no failed request out of ${loop.total}`);
    assert.equal(readFileSync(cfg, 'utf8').includes('web-1'), false);

    // A backend made unhealthy (it answers 503 while listening) stops getting traffic within its
    // check interval (200 ms, one retry) plus the render time.
    await web3.signal('SIGUSR1');
    const sickAt = performance.now();
    await until('haproxy\'s configuration without web-3', () => !readFileSync(cfg, 'utf8').includes('web-3'), 20_000);
    const dropped = performance.now() - sickAt;
    assert.ok(dropped < 5000, `dropped after ${Math.round(dropped)} ms`);
    // haproxy reloads at once: from here on, every answer comes from web-2.
    await until('haproxy to send nothing to web-3', async () => {
      const rs = await Promise.all(Array.from({ length: 5 }, () => hit(front)));
      return rs.every((r) => !('error' in r) && r.status === 200 && r.server === 'web-2');
    }, 5000);
  } finally {
    await stopAllStewards();
    await store.stop();
  }
});
