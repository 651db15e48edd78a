// Runs the Consul double on its own so it can be poked with curl:
//   ./node_modules/.bin/node test/support/consul/main.ts [--port N] [--acl-token T]
//     [--session-ttl-min 1s] [--tls] [--require-client-cert] [--log]
// Prints "consul-double listening on 127.0.0.1:PORT" once ready; stops on SIGINT/SIGTERM.

import { parseArgs } from 'node:util';
import { startConsulDouble } from './double.ts';
import { testTlsServerOptions } from './tls.ts';

const usage =
  'usage: main.ts [--port N] [--acl-token TOKEN] [--session-ttl-min DURATION] [--tls] [--require-client-cert] [--log]';

let values: ReturnType<typeof parse>['values'];
function parse() {
  return parseArgs({
    options: {
      'port': { type: 'string', default: '0' },
      'acl-token': { type: 'string' },
      'session-ttl-min': { type: 'string' },
      'tls': { type: 'boolean', default: false },
      'require-client-cert': { type: 'boolean', default: false },
      'log': { type: 'boolean', default: false },
      'help': { type: 'boolean', default: false },
    },
    strict: true,
  });
}
try {
  values = parse().values;
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n${usage}\n`);
  process.exit(2);
}
if (values.help) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`--port must be an integer between 0 and 65535, got ${JSON.stringify(values.port)}\n`);
  process.exit(2);
}

const double = await startConsulDouble({
  port,
  ...(values['acl-token'] === undefined ? {} : { aclToken: values['acl-token'] }),
  ...(values['session-ttl-min'] === undefined ? {} : { sessionTtlMin: values['session-ttl-min'] }),
  ...(values.tls || values['require-client-cert'] ? { tls: testTlsServerOptions(values['require-client-cert']) } : {}),
});
if (values.log) {
  double.events.on('request', (r) => {
    process.stderr.write(`${r.method} ${r.path}${r.rawQuery === '' ? '' : `?${r.rawQuery}`}\n`);
  });
}
process.stdout.write(`consul-double listening on ${double.address}\n`);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  void double.stop().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
