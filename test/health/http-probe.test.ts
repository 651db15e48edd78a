// One HTTP probe against a real server: a 3xx is an answer (healthy, not followed), a 4xx or 5xx
// fails unless STEWARD_HEALTH_HTTP_STATUS lists it.

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { httpProbe } from '../../src/health/http-check.ts';

let server: Server;
let base = '';

before(async () => {
  server = createServer((req, res) => {
    const status = Number((req.url ?? '/').slice(1));
    res.writeHead(status, status === 302 ? { location: '/404' } : {});
    res.end(String(status));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
});

after(() => new Promise<void>((resolve) => server.close(() => resolve())));

const probe = (status: number, accepted: readonly number[] = []) =>
  httpProbe(new URL(`${base}/${status}`), new Set(accepted), 5000, new AbortController().signal);

describe('an HTTP probe', () => {
  it('counts 2xx and 3xx as healthy, and does not follow a redirect', async () => {
    assert.deepEqual(await probe(204), { ok: true, output: 'HTTP 204' });
    assert.deepEqual(await probe(302), { ok: true, output: 'HTTP 302 302' });
    assert.deepEqual(await probe(399), { ok: true, output: 'HTTP 399 399' });
  });

  it('counts 4xx and 5xx as failed unless they are listed', async () => {
    assert.deepEqual(await probe(404), { ok: false, output: 'HTTP 404 404' });
    assert.deepEqual(await probe(500), { ok: false, output: 'HTTP 500 500' });
    assert.deepEqual(await probe(404, [404]), { ok: true, output: 'HTTP 404 404' });
  });
});
