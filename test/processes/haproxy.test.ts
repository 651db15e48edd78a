// Real haproxy (Debian's package) as a sidecar in master-worker mode (-W), its configuration a
// template over keys: check_cmd validates each version, reload_process = "haproxy" and
// reload = "SIGUSR2" reload haproxy alone. A client loop through haproxy sees no failed request
// while the backends change, and the app is never signalled.

import assert from 'node:assert/strict';
import { accessSync, constants, renameSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { makeConfdir } from '../support/confdir.ts';
import { freePort } from '../support/operator.ts';
import { APP, NODE, logRecords, startSteward, stopAllStewards, type RunningSteward } from '../support/steward.ts';
import { until } from '../support/until.ts';

const HAPROXY = '/usr/sbin/haproxy';

function haproxySkipReason(): string | false {
  try {
    accessSync(HAPROXY, constants.X_OK);
    return false;
  } catch {
    return process.env['CI'] === 'true' ? false : 'haproxy is not installed (Debian: apt-get install -y haproxy)';
  }
}

const RESOURCE = `[template]
src = "haproxy.cfg.tmpl"
dest = "$OUT/haproxy.cfg"
keys = ["/lb"]
check_cmd = "${HAPROXY} -c -q -f {{.src}}"
reload = "SIGUSR2"
reload_process = "haproxy"
`;

const TEMPLATE = `global
  maxconn 256

defaults
  mode http
  timeout connect 2s
  timeout client 10s
  timeout server 10s
  retries 3
  option redispatch

frontend web
  bind 127.0.0.1:{{getv "/lb/port"}}
  default_backend pool

backend pool
  balance roundrobin
{{range gets "/lb/servers/*"}}  server {{base .Key}} {{.Value}}
{{end}}`;

interface Backend {
  readonly name: string;
  readonly address: string;
  close(): Promise<void>;
}

async function startBackend(name: string): Promise<Backend> {
  const server = http.createServer((_req, res) => res.end(name));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    name,
    address: `127.0.0.1:${port}`,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

function get(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`status ${res.statusCode}: ${body.slice(0, 80)}`))));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

function values(port: number, backends: readonly Backend[]): string {
  return `lb:\n  port: "${port}"\n  servers:\n${backends.map((b) => `    ${b.name}: "${b.address}"\n`).join('')}`;
}

function replaceAtomically(path: string, text: string): void {
  writeFileSync(`${path}.new`, text);
  renameSync(`${path}.new`, path);
}

function reloadsSent(s: RunningSteward): number {
  return logRecords(s.stderr()).filter((r) => r['msg'] === 'sent SIGUSR2 to process haproxy').length;
}

afterEach(stopAllStewards);

describe('haproxy as a sidecar', { skip: haproxySkipReason() }, () => {
  it('reloads haproxy alone on each backend change, with no failed request through it', async () => {
    const backends = await Promise.all(['a', 'b', 'c', 'd'].map(startBackend));
    const [a, b, c, d] = backends as [Backend, Backend, Backend, Backend];
    const port = await freePort();
    const conf = makeConfdir({ 'haproxy.toml': RESOURCE }, { 'haproxy.cfg.tmpl': TEMPLATE });
    const valuesFile = conf.file('values.yaml', values(port, [a, b]));
    const s = startSteward([NODE, APP], {
      env: {
        STEWARD_CONTROL_SOCKET: 'off',
        CONFD_CONFDIR: conf.dir,
        CONFD_BACKEND: 'file',
        CONFD_FILE: valuesFile,
        STEWARD_WAIT: '0',
        STEWARD_PROCESS_HAPROXY_COMMAND: `${HAPROXY} -W -f ${join(conf.out, 'haproxy.cfg')}`,
      },
    });
    try {
      await s.line(/^ready/);
      const seen = new Set<string>();
      await until('haproxy to answer', async () => {
        seen.add(await get(port).catch(() => ''));
        return seen.has('a') || seen.has('b');
      }, 30_000);

      // Four clients, each one request after the other, for as long as the changes take.
      const failures: string[] = [];
      let requests = 0;
      let done = false;
      const answered = new Set<string>();
      const client = async (): Promise<void> => {
        while (!done) {
          try {
            answered.add(await get(port));
            requests++;
          } catch (error) {
            failures.push(String(error));
          }
        }
      };
      const clients = [client(), client(), client(), client()];

      // The last change comes right behind its reload: haproxy, still reloading, would drop a
      // second SIGUSR2, so steward holds it for the reload spacing.
      const steps: { backends: Backend[]; next: 'settle' | 'at once' }[] = [
        { backends: [a, b, c], next: 'settle' },
        { backends: [b, c], next: 'settle' },
        { backends: [c, d], next: 'settle' },
        { backends: [a, d], next: 'settle' },
        { backends: [a], next: 'at once' },
        { backends: [b, c, d], next: 'settle' },
      ];
      try {
        for (const [i, { backends: step, next }] of steps.entries()) {
          replaceAtomically(valuesFile, values(port, step));
          await until(`reload ${i + 1}`, () => reloadsSent(s) >= i + 1, 30_000, () => s.stderr());
          if (next === 'at once') continue;
          // Traffic reaches the new configuration: every backend of this step answers, and no
          // other (answers from the old configuration start the tally over).
          const names = new Set(step.map((x) => x.name));
          answered.clear();
          await until(`the backends of step ${i + 1}`, () => {
            if ([...answered].some((name) => !names.has(name))) answered.clear();
            return step.every((x) => answered.has(x.name));
          }, 30_000, () => `${[...answered].join(',')}\n${s.stderr()}`);
        }
      } finally {
        done = true;
        await Promise.all(clients);
      }

      assert.deepEqual(failures, [], `${failures.length} of ${requests + failures.length} requests failed`);
      assert.ok(requests > 50, `only ${requests} requests`);
      assert.ok(!s.stdoutLines().some((l) => /^got /.test(l)), `the app was signalled: ${s.stdoutLines().join('\n')}`);

      await s.signal('SIGTERM');
      assert.equal((await s.exited).code, 0);
      await assert.rejects(get(port), 'haproxy is gone with steward');
    } finally {
      await Promise.all(backends.map((x) => x.close()));
    }
  });
});
