// The stand-alone runner: prints its address on one line, serves the API, stops on SIGTERM.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { call } from './http-client.ts';

const main = fileURLToPath(new URL('../support/consul/main.ts', import.meta.url));

describe('test/support/consul/main.ts', () => {
  it('announces "consul-double listening on 127.0.0.1:PORT" and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, [main, '--port', '0', '--acl-token', 'secret'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = once(child, 'exit');
    try {
      const lines = createInterface({ input: child.stdout });
      const [line] = (await once(lines, 'line')) as [string];
      const match = /^consul-double listening on (127\.0\.0\.1:\d+)$/.exec(line);
      assert.ok(match, line);
      const url = `http://${match[1]}`;
      assert.equal((await call(url, 'PUT', '/v1/kv/k?token=secret', { body: 'v' })).text, 'true');
      assert.equal((await call(url, 'GET', '/v1/kv/k?raw', { headers: { 'X-Consul-Token': 'secret' } })).text, 'v');
      assert.equal((await call(url, 'GET', '/v1/kv/k')).status, 403);
    } finally {
      child.kill('SIGTERM');
    }
    const [code, signal] = await exited;
    assert.equal(signal, null);
    assert.equal(code, 0);
  });

  it('rejects a bad --port with exit code 2 and a message naming the flag', async () => {
    const child = spawn(process.execPath, [main, '--port', 'eighty'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = await once(child, 'exit');
    assert.equal(code, 2);
    assert.match(stderr, /--port must be an integer between 0 and 65535, got "eighty"/);
  });
});
