import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ConsulDoubleTlsOptions } from './double.ts';

// Test-only certificates, committed so no test needs openssl. All keys are P-256 and the
// certificates are valid until 2126. The server certificate names localhost,
// server.dc1.consul and 127.0.0.1, and serves client authentication too: etcd's JSON gateway
// connects to its own member with the server certificate, which --client-cert-auth then checks.
// client.pem is signed by ca.pem and has no Common Name (etcd's gateway refuses a client
// certificate with one when authentication is on); rogue-client.pem is signed by a CA the
// double does not trust.

export interface TestTlsFiles {
  readonly caFile: string;
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  readonly rogueCaFile: string;
  readonly rogueClientCertFile: string;
  readonly rogueClientKeyFile: string;
}

function fixture(name: string): string {
  return fileURLToPath(new URL(`./tls/${name}`, import.meta.url));
}

export function testTlsFiles(): TestTlsFiles {
  return {
    caFile: fixture('ca.pem'),
    serverCertFile: fixture('server.pem'),
    serverKeyFile: fixture('server-key.pem'),
    clientCertFile: fixture('client.pem'),
    clientKeyFile: fixture('client-key.pem'),
    rogueCaFile: fixture('rogue-ca.pem'),
    rogueClientCertFile: fixture('rogue-client.pem'),
    rogueClientKeyFile: fixture('rogue-client-key.pem'),
  };
}

/** Options for startConsulDouble({ tls }) serving the fixture server certificate. */
export function testTlsServerOptions(requireClientCert = false): ConsulDoubleTlsOptions {
  const files = testTlsFiles();
  return {
    cert: readFileSync(files.serverCertFile),
    key: readFileSync(files.serverKeyFile),
    ca: readFileSync(files.caFile),
    requireClientCert,
  };
}
