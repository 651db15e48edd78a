// HTTPS mode, as an agent with ca_file/cert_file/key_file (and verify_incoming) serves it.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { startConsulDouble, type ConsulDouble } from '../support/consul/double.ts';
import { testTlsFiles, testTlsServerOptions } from '../support/consul/tls.ts';
import { call } from './http-client.ts';

const files = testTlsFiles();
const ca = readFileSync(files.caFile);
const client = { cert: readFileSync(files.clientCertFile), key: readFileSync(files.clientKeyFile) };
const rogue = { cert: readFileSync(files.rogueClientCertFile), key: readFileSync(files.rogueClientKeyFile) };

describe('TLS without client certificates', () => {
  let consul: ConsulDouble;
  before(async () => {
    consul = await startConsulDouble({ tls: testTlsServerOptions() });
    consul.put('k', 'v');
  });
  after(async () => {
    await consul.stop();
  });

  it('serves https on the advertised URL to a client that trusts the CA', async () => {
    assert.match(consul.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const res = await call(consul.url, 'GET', '/v1/kv/k?raw', { tls: { ca } });
    assert.equal(res.status, 200);
    assert.equal(res.text, 'v');
  });

  it('is refused by a client that does not trust the CA', async () => {
    await assert.rejects(call(consul.url, 'GET', '/v1/kv/k', { tls: { ca: readFileSync(files.rogueCaFile) } }), {
      code: /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN)$/,
    });
  });

  it('is not spoken to in plain HTTP', async () => {
    await assert.rejects(call(consul.url.replace('https:', 'http:'), 'GET', '/v1/kv/k'));
  });
});

describe('TLS requiring client certificates (verify_incoming)', () => {
  let consul: ConsulDouble;
  before(async () => {
    consul = await startConsulDouble({ tls: testTlsServerOptions(true) });
    consul.put('k', 'v');
  });
  after(async () => {
    await consul.stop();
  });

  it('answers a client presenting a certificate signed by the CA', async () => {
    const res = await call(consul.url, 'GET', '/v1/kv/k?raw', { tls: { ca, ...client } });
    assert.equal(res.text, 'v');
  });

  it('fails the handshake without a client certificate or with an untrusted one', async () => {
    await assert.rejects(call(consul.url, 'GET', '/v1/kv/k', { tls: { ca } }));
    await assert.rejects(call(consul.url, 'GET', '/v1/kv/k', { tls: { ca, ...rogue } }));
    assert.equal(consul.requests().length, 1, 'only the trusted client got through');
  });
});
