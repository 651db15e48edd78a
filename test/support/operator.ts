// For the operator's tests: a steward with its own control socket in a temporary directory, the
// client flags run against it, and a file-backend confdir whose values a test can change.

import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeConfdir } from './confdir.ts';
import { runSteward } from './steward.ts';

export function socketDir(): { dir: string; socket: string } {
  const dir = mkdtempSync(join(tmpdir(), 'steward-control-'));
  return { dir, socket: join(dir, 'steward.sock') };
}

/** Runs `steward <flags>` as the client against `socket`. */
export async function client(socket: string, ...flags: string[]): Promise<{ code: number | null; out: string }> {
  const r = await runSteward(flags, { env: { STEWARD_CONTROL_SOCKET: socket }, pid1: false });
  return { code: r.code, out: r.stdout.join('\n') };
}

/** A port nobody listens on now, on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

const RESOURCE = '[template]\nsrc = "app.tmpl"\ndest = "$OUT/app.conf"\nkeys = ["/app"]\n';
const TEMPLATE = 'host={{ getv "/app/host" }}\n';

/** One resource `app` rendered from a YAML file with the file backend. */
export function fileConfig(values: string) {
  const c = makeConfdir({ 'app.toml': RESOURCE }, { 'app.tmpl': TEMPLATE });
  const valuesFile = c.file('values.yaml', values);
  const env = { CONFD_CONFDIR: c.dir, CONFD_BACKEND: 'file', CONFD_FILE: valuesFile, STEWARD_WAIT: '0', APP_WATCH_FILE: join(c.out, 'app.conf') };
  return {
    ...c,
    env,
    dest: join(c.out, 'app.conf'),
    setValues(text: string): void {
      writeFileSync(`${valuesFile}.new`, text);
      renameSync(`${valuesFile}.new`, valuesFile);
    },
  };
}
