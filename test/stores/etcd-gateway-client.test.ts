// The etcd gateway client against a scripted HTTP server: fail-over between endpoints, the login
// token in the Authorization header and a new login when etcd forgot it, secrets kept out of
// errors, deadlines, and the watch stream (one watcher over every prefix, answers cut anywhere,
// cancellation closing the connection, a silent stream ended by an unanswered keepalive probe).
// The same calls against a real etcd are in test/backends/ and test/cluster/.

import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { EtcdClient, WatchResponse } from '../../src/stores/etcd/client.ts';
import type { ConnectionSettings } from '../../src/stores/etcd/connection.ts';
import { loadGatewayDriver } from '../../src/stores/etcd/gateway-client.ts';

type Handler = (path: string, body: string, req: IncomingMessage, res: ServerResponse) => void;

interface Fake {
  readonly url: string;
  handle: Handler;
  readonly server: Server;
}

async function fakeEtcd(): Promise<Fake> {
  const fake: { handle: Handler } = { handle: (_p, _b, _q, res) => res.writeHead(404).end() };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => fake.handle(req.url ?? '', Buffer.concat(chunks).toString('utf8'), req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    get handle() {
      return fake.handle;
    },
    set handle(h) {
      fake.handle = h;
    },
  };
}

const json = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};
const b64 = (text: string): string => Buffer.from(text).toString('base64');
const RANGE_ANSWER = { header: { revision: '8' }, kvs: [{ key: b64('/k'), value: b64('v'), create_revision: '2', mod_revision: '8' }], count: '1' };

function settings(overrides: Partial<ConnectionSettings> = {}): ConnectionSettings {
  return { credentials: undefined, auth: undefined, requestTimeoutMs: 2000, keepaliveTimeMs: 10_000, keepaliveTimeoutMs: 3000, ...overrides };
}

async function client(hosts: readonly string[], s: ConnectionSettings = settings()): Promise<EtcdClient> {
  return (await loadGatewayDriver(s)).connect(hosts);
}

describe('etcd gateway client', () => {
  let fake: Fake;
  const clients: EtcdClient[] = [];
  const track = (c: EtcdClient): EtcdClient => {
    clients.push(c);
    return c;
  };
  before(async () => {
    fake = await fakeEtcd();
  });
  after(async () => {
    for (const c of clients) c.close();
    fake.server.closeAllConnections();
    await new Promise((resolve) => fake.server.close(resolve));
  });

  it('fails over from a refused endpoint to the next one, and reads', async () => {
    fake.handle = (path, body, _req, res) => {
      assert.equal(path, '/v3/kv/range');
      assert.deepEqual(JSON.parse(body), { key: b64('/k') });
      json(res, 200, RANGE_ANSWER);
    };
    const c = track(await client(['http://127.0.0.1:1', fake.url]));
    const res = await c.range({ key: '/k' }, Date.now() + 2000);
    assert.equal(res.revision, 8);
    assert.deepEqual(
      res.kvs.map((kv) => [kv.key, kv.value, kv.modRevision]),
      [['/k', 'v', 8]],
    );
  });

  it('sends the token in the Authorization header and logs in again when etcd forgot it, with no secret in any error', async () => {
    let issued = 0;
    let valid = '';
    const logins: unknown[] = [];
    fake.handle = (path, body, req, res) => {
      if (path === '/v3/auth/authenticate') {
        logins.push(JSON.parse(body));
        const { password } = JSON.parse(body) as { password: string };
        if (password !== 'pw') return json(res, 400, { error: 'etcdserver: authentication failed, invalid user ID or password', code: 3 });
        valid = `token-${++issued}`;
        return json(res, 200, { header: {}, token: valid });
      }
      if (req.headers.authorization !== valid) return json(res, 401, { error: 'etcdserver: invalid auth token', message: 'etcdserver: invalid auth token', code: 16 });
      json(res, 200, RANGE_ANSWER);
    };
    const c = track(await client([fake.url], settings({ auth: { username: 'root', password: 'pw' } })));
    await c.range({ key: '/k' }, Date.now() + 2000);
    await c.range({ key: '/k' }, Date.now() + 2000);
    assert.equal(issued, 1, 'one login for two calls');
    valid = 'forgotten';
    await c.range({ key: '/k' }, Date.now() + 2000);
    assert.equal(issued, 2, 'a new login after "invalid auth token"');
    assert.deepEqual(logins[0], { name: 'root', password: 'pw' });

    const wrong = track(await client([fake.url], settings({ auth: { username: 'root', password: 'Secr3tPassw0rd' } })));
    const driver = await loadGatewayDriver(settings());
    await assert.rejects(wrong.range({ key: '/k' }, Date.now() + 2000), (e: Error) => {
      assert.match(e.message, /authentication failed/);
      assert.doesNotMatch(`${e.message} ${String(e.stack)}`, /Secr3tPassw0rd|token-/);
      assert.equal(driver.isAuthFailure(e), true);
      return true;
    });
  });

  it('rejects at its deadline when etcd does not answer, as a connection failure', async () => {
    fake.handle = () => {};
    const c = track(await client([fake.url]));
    const driver = await loadGatewayDriver(settings());
    const started = Date.now();
    await assert.rejects(c.txn({ compare: [], success: [], failure: [] }, Date.now() + 300), (e: Error) => {
      assert.match(e.message, /no answer within/);
      assert.equal(driver.isConnectionError(e), true);
      return true;
    });
    assert.ok(Date.now() - started < 2000);
  });

  it('tells a lease etcd does not know from a connection failure, and reads a keep-alive answer', async () => {
    fake.handle = (path, body, _req, res) => {
      if (path === '/v3/lease/revoke') return json(res, 404, { error: 'etcdserver: requested lease not found', code: 5 });
      if (path === '/v3/lease/grant') return json(res, 200, { header: {}, ID: '7587879898117212170', TTL: '5' });
      assert.equal(path, '/v3/lease/keepalive');
      const { ID } = JSON.parse(body) as { ID: string };
      // A streamed call: one result line; TTL is left out when it is 0.
      res.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify({ result: ID === '1' ? { ID } : { ID, TTL: '5' } })}\n`);
    };
    const c = track(await client([fake.url]));
    const driver = await loadGatewayDriver(settings());
    const id = await c.grantLease(5, Date.now() + 2000);
    assert.equal(id, '7587879898117212170');
    assert.equal(await c.keepAliveOnce(id, Date.now() + 2000), 5);
    assert.equal(await c.keepAliveOnce('1', Date.now() + 2000), 0);
    await assert.rejects(c.revokeLease('1', Date.now() + 2000), (e: Error) => driver.isLeaseGone(e) && !driver.isConnectionError(e));
  });

  it('creates one watcher over every prefix and delivers answers cut anywhere, in order', async () => {
    const lines = [
      { result: { header: { revision: '5' }, created: true } },
      { result: { header: { revision: '6' }, events: [{ kv: { key: b64('/b/x'), value: b64('é'), mod_revision: '6' } }] } },
      { result: { header: { revision: '7' }, events: [{ type: 'DELETE', kv: { key: b64('/a/y'), mod_revision: '7' } }] } },
      { result: { header: { revision: '9' } } },
    ];
    let requests: unknown[] = [];
    fake.handle = (path, body, _req, res) => {
      assert.equal(path, '/v3/watch');
      requests = body.split('\n').map((l) => JSON.parse(l));
      res.writeHead(200, { 'content-type': 'application/json' });
      const text = Buffer.from(lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
      // Chunks of 7 bytes: lines span chunks, chunks hold parts of several lines.
      for (let i = 0; i < text.length; i += 7) res.write(text.subarray(i, i + 7));
    };
    const c = track(await client([fake.url]));
    const got: WatchResponse[] = [];
    const done = new Promise<void>((resolve, reject) => {
      void c
        .watch(
          { prefixes: ['/a', '/b'], startRevision: 4 },
          {
            response: (r) => {
              got.push(r);
              if (got.length === lines.length) resolve();
            },
            error: reject,
            end: () => reject(new Error('ended')),
          },
        )
        .catch(reject);
    });
    await done;
    assert.deepEqual(
      requests.map((r) => (r as { create_request: { key: string; start_revision: string } }).create_request),
      [{ key: b64('/a'), range_end: b64('/c'), start_revision: '4', progress_notify: true }],
    );
    assert.deepEqual(
      got.map((r) => [r.watchId, r.created, r.revision, r.events.map((e) => [e.type, e.kv.key, e.kv.value])]),
      [
        ['0', true, 5, []],
        ['0', false, 6, [['put', '/b/x', 'é']]],
        ['0', false, 7, [['delete', '/a/y', '']]],
        ['0', false, 9, []],
      ],
    );
  });

  it('closes the connection when a watch is canceled, and reports nothing after', async () => {
    const closed = new Promise<void>((resolve) => {
      fake.handle = (_path, _body, req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(`${JSON.stringify({ result: { header: { revision: '1' }, created: true } })}\n`);
        req.socket.once('close', () => resolve());
      };
    });
    const c = track(await client([fake.url]));
    const after: string[] = [];
    let created!: () => void;
    const first = new Promise<void>((resolve) => (created = resolve));
    const stream = await c.watch({ prefixes: ['/a'], startRevision: 1 }, {
      response: () => created(),
      error: (e) => after.push(`error ${e.message}`),
      end: () => after.push('end'),
    });
    await first;
    stream.cancel();
    await closed;
    assert.deepEqual(after, []);
  });

  it('ends a silent watch stream when etcd does not answer the keepalive probe', async () => {
    const probes: string[] = [];
    fake.handle = (path, _body, _req, res) => {
      if (path === '/v3/maintenance/status') {
        probes.push(path);
        return; // frozen: never answers
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`${JSON.stringify({ result: { header: { revision: '1' }, created: true } })}\n`);
    };
    const c = track(await client([fake.url], settings({ keepaliveTimeMs: 200, keepaliveTimeoutMs: 200 })));
    const started = Date.now();
    const failed = new Promise<Error>((resolve) => {
      void c.watch({ prefixes: ['/a'], startRevision: 1 }, { response: () => {}, error: resolve, end: () => resolve(new Error('ended')) });
    });
    const error = await failed;
    assert.match(error.message, /keepalive/);
    assert.equal(probes.length, 1);
    assert.ok(Date.now() - started >= 400, 'not before the silence and the probe timed out');
  });
});
