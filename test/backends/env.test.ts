// The env backend: confd's key <-> variable mapping (/a/b <-> A_B), string-prefix matching on
// the variable name, and a watch that never has anything to say.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEnvBackend } from '../../src/backends/env.ts';
import { backendOptions } from '../support/backend-options.ts';

function backendFor(env: Record<string, string | undefined>) {
  const options = backendOptions({ env });
  return createEnvBackend(options);
}

const signal = (): AbortSignal => new AbortController().signal;
const sorted = (values: ReadonlyMap<string, string>): [string, string][] => [...values].sort(([a], [b]) => (a < b ? -1 : 1));

describe('env backend', () => {
  it('maps /myapp/database to MYAPP_DATABASE* and the variables back to lower-case keys', async () => {
    const backend = backendFor({
      MYAPP_DATABASE_URL: 'postgres://db',
      MYAPP_DATABASE_USER: 'app',
      MYAPP_OTHER: 'no',
      PATH: '/usr/bin',
    });
    const { values } = await backend.read(['/myapp/database'], signal());
    assert.deepEqual(sorted(values), [
      ['/myapp/database/url', 'postgres://db'],
      ['/myapp/database/user', 'app'],
    ]);
    assert.equal(backend.name, 'env');
  });

  it('hands a value on as the UTF-8 bytes of the text Node decoded', async () => {
    const { values } = await backendFor({ APP_NAME: 'Zoë €' }).read(['/app'], signal());
    assert.equal(Buffer.from(values.get('/app/name') ?? '', 'latin1').toString('utf8'), 'Zoë €');
  });

  it('matches a plain prefix of the name, so /myapp/db also takes MYAPP_DBX, and covers() agrees', async () => {
    const backend = backendFor({ MYAPP_DB: 'a', MYAPP_DBX: 'b', MYAPP_D: 'c' });
    const { values } = await backend.read(['/myapp/db'], signal());
    assert.deepEqual(sorted(values), [
      ['/myapp/db', 'a'],
      ['/myapp/dbx', 'b'],
    ]);
    assert.equal(backend.covers('/myapp/db', '/myapp/dbx'), true);
    assert.equal(backend.covers('/myapp/db', '/myapp/db/host'), true);
    assert.equal(backend.covers('/myapp/db', '/myapp/d'), false);
  });

  it('ignores names that are lower-case where the key is compared, and unset values', async () => {
    const backend = backendFor({ myapp_db_host: 'lower', Myapp_Db_Port: 'mixed', MYAPP_DB_NAME: 'kept', MYAPP_DB_UNSET: undefined });
    const { values } = await backend.read(['/myapp/db'], signal());
    assert.deepEqual(sorted(values), [['/myapp/db/name', 'kept']]);
  });

  it('turns every "_" into a level, as confd does (MY_APP is /my/app)', async () => {
    const backend = backendFor({ MY_APP_PORT: '80' });
    assert.deepEqual(sorted((await backend.read(['/my_app'], signal())).values), [['/my/app/port', '80']]);
    assert.deepEqual(sorted((await backend.read(['/my/app'], signal())).values), [['/my/app/port', '80']]);
  });

  it('returns every variable for the root key and merges several keys', async () => {
    const backend = backendFor({ A_X: '1', B_Y: '2', lower: '3' });
    assert.deepEqual(sorted((await backend.read(['/'], signal())).values), [
      ['/a/x', '1'],
      ['/b/y', '2'],
      ['/lower', '3'],
    ]);
    assert.deepEqual(sorted((await backend.read(['/a', '/b'], signal())).values), [
      ['/a/x', '1'],
      ['/b/y', '2'],
    ]);
  });

  it('watches without ever delivering an update or a status, and closes', async () => {
    const backend = backendFor({ A: '1' });
    const snapshot = await backend.read(['/a'], signal());
    const heard: unknown[] = [];
    const stop = new AbortController();
    backend.watch(['/a'], snapshot.cursor, { update: (u) => heard.push(u), status: (s) => heard.push(s) }, stop.signal);
    await new Promise((resolve) => setImmediate(resolve));
    stop.abort();
    await backend.close();
    assert.deepEqual(heard, []);
  });
});
