// The file backend: YAML and JSON flattened exactly as confd's file backend does (yaml.v2's
// YAML 1.1 typing, Go's number formatting, nulls dropped, lists as /0 /1, later files winning),
// directories walked, and a watch that sees edits, atomic saves and broken files.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Backend, BackendOptions, BackendStatus } from '../../src/backends/backend.ts';
import { createFileBackend } from '../../src/backends/file.ts';
import { recorder, isUpdate, isStatus } from '../support/watch-events.ts';
import { backendOptions } from '../support/backend-options.ts';

function options(files: string[]): BackendOptions {
  return backendOptions({ files });
}

const signal = (): AbortSignal => new AbortController().signal;
const sorted = (values: ReadonlyMap<string, string>): [string, string][] => [...values].sort(([a], [b]) => (a < b ? -1 : 1));

let dir: string;
let backend: Backend | undefined;
let stop: AbortController;

function write(name: string, content: string): string {
  const path = join(dir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
  return path;
}

async function readAll(files: string[], keys = ['/']): Promise<ReadonlyMap<string, string>> {
  const b = createFileBackend(options(files));
  try {
    return (await b.read(keys, signal())).values;
  } finally {
    await b.close();
  }
}

describe('file backend read()', () => {
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'steward-file-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('flattens YAML maps and lists, with numbers, booleans and nulls as confd prints them', async () => {
    const file = write(
      'app.yaml',
      [
        'app:',
        '  name: web',
        '  port: 8080',
        '  ratio: 0.5',
        '  whole: 2.0',
        '  big: 1e21',
        '  small: 1.5e-7',
        '  negative: -3',
        '  enabled: yes',
        '  disabled: off',
        '  flag: true',
        '  nothing: ~',
        '  empty:',
        '  octal: 0777',
        '  hex: 0x1F',
        '  grouped: 1_000',
        '  int64: 9223372036854775807',
        '  uint64: 18446744073709551615',
        '  quoted: "0777"',
        '  infinity: .inf',
        '  date: 2001-12-14',
        '  text: |',
        '    line one',
        '    line two',
        '  list:',
        '    - a',
        '    - 1',
        '    - null',
        '    - k: v',
        '      n: [x, y]',
      ].join('\n'),
    );
    const values = await readAll([file]);
    assert.deepEqual(sorted(values), [
      ['/app/big', '1000000000000000000000'],
      ['/app/date', '2001-12-14'],
      ['/app/disabled', 'false'],
      ['/app/enabled', 'true'],
      ['/app/flag', 'true'],
      ['/app/grouped', '1000'],
      ['/app/hex', '31'],
      ['/app/infinity', '+Inf'],
      ['/app/int64', '9223372036854775807'],
      ['/app/list/0', 'a'],
      ['/app/list/1', '1'],
      ['/app/list/3/k', 'v'],
      ['/app/list/3/n/0', 'x'],
      ['/app/list/3/n/1', 'true'], // "y" is a boolean in YAML 1.1, which yaml.v2 follows
      ['/app/name', 'web'],
      ['/app/negative', '-3'],
      ['/app/octal', '511'],
      ['/app/port', '8080'],
      ['/app/quoted', '0777'],
      ['/app/ratio', '0.5'],
      ['/app/small', '0.00000015'],
      ['/app/text', 'line one\nline two\n'],
      ['/app/whole', '2'],
    ]);
  });

  it('flattens JSON the same way (JSON is YAML to confd)', async () => {
    const file = write('app.json', JSON.stringify({ a: { b: [1, 2.5, true, null, 'x'], c: 1.0, d: 1e3, e: '', f: {} } }));
    assert.deepEqual(sorted(await readAll([file])), [
      ['/a/b/0', '1'],
      ['/a/b/1', '2.5'],
      ['/a/b/2', 'true'],
      ['/a/b/4', 'x'],
      ['/a/c', '1'],
      ['/a/d', '1000'],
      ['/a/e', ''],
    ]);
  });

  it('merges several files in order, later ones overriding the same keys', async () => {
    const first = write('first.yaml', 'app:\n  db: one\n  only-first: 1\n');
    const second = write('second.json', '{"app": {"db": "two", "only-second": 2}}');
    assert.deepEqual(sorted(await readAll([first, second])), [
      ['/app/db', 'two'],
      ['/app/only-first', '1'],
      ['/app/only-second', '2'],
    ]);
  });

  it('walks directories recursively in lexical order, following file symlinks', async () => {
    write('conf/a.yaml', 'x: from-a\nonly-a: 1\n');
    write('conf/b.yaml', 'x: from-b\n');
    write('conf/sub/deeper/c.json', '{"nested": {"key": "c"}}');
    write('elsewhere/linked.yaml', 'linked: yes\n');
    symlinkSync(join(dir, 'elsewhere/linked.yaml'), join(dir, 'conf/z-link.yaml'));
    assert.deepEqual(sorted(await readAll([join(dir, 'conf')])), [
      ['/linked', 'true'],
      ['/nested/key', 'c'],
      ['/only-a', '1'],
      ['/x', 'from-b'],
    ]);
  });

  it('keeps keys with the requested string prefix, /app/db covering /app/dbx as in confd', async () => {
    const file = write('app.yaml', 'app:\n  db: 1\n  dbx: 2\n  other: 3\nroot: 4\n');
    const b = createFileBackend(options([file]));
    try {
      const { values } = await b.read(['/app/db', '/root'], signal());
      assert.deepEqual(sorted(values), [
        ['/app/db', '1'],
        ['/app/dbx', '2'],
        ['/root', '4'],
      ]);
      assert.equal(b.covers('/app/db', '/app/dbx'), true);
      assert.equal(b.covers('/app/db', '/app/d'), false);
      assert.equal(b.source, file);
      assert.equal(b.name, 'file');
    } finally {
      await b.close();
    }
  });

  it('handles anchors, merge keys and keys that are not strings in YAML 1.1', async () => {
    const file = write(
      'app.yaml',
      ['base: &base', '  host: h', '  port: 1', 'svc:', '  <<: *base', '  port: 2', 'ports:', '  80: http', '  on: enabled', 'copy: *base'].join('\n'),
    );
    assert.deepEqual(sorted(await readAll([file])), [
      ['/base/host', 'h'],
      ['/base/port', '1'],
      ['/copy/host', 'h'],
      ['/copy/port', '1'],
      ['/ports/80', 'http'],
      ['/ports/on', 'enabled'],
      ['/svc/host', 'h'],
      ['/svc/port', '2'],
    ]);
  });

  it('hands values on as bytes: text as its UTF-8, !!binary exactly (keys stay text)', async () => {
    const f = write('bytes.yaml', 'clé: é€\nbin: !!binary Qf/+AAHDKFo=\n');
    const values = await readAll([f]);
    assert.equal(Buffer.from(values.get('/clé') ?? '', 'latin1').toString('hex'), Buffer.from('é€').toString('hex'));
    assert.equal(Buffer.from(values.get('/bin') ?? '', 'latin1').toString('hex'), '41fffe0001c3285a');
  });

  it('rejects a file that does not parse, naming the file and the line', async () => {
    const good = write('good.yaml', 'a: 1\n');
    const bad = write('bad.yaml', 'a: 1\nb: [1, 2\nc: 3\n');
    await assert.rejects(readAll([good, bad]), (error: Error) => {
      assert.match(error.message, new RegExp(`^${bad.replaceAll('.', '\\.')}: line 3, column 1: `));
      return true;
    });
    const list = write('list.yaml', '- a\n- b\n');
    await assert.rejects(readAll([list]), /list\.yaml: line 1, column 1: the file must hold a mapping/);
    await assert.rejects(readAll([join(dir, 'missing.yaml')]), /missing\.yaml: no such file or directory/);
  });

  it('reads empty and comment-only files as no keys', async () => {
    assert.equal((await readAll([write('empty.yaml', ''), write('comment.yaml', '# nothing\n'), write('null.yaml', '~\n')])).size, 0);
  });
});

describe('file backend watch()', () => {
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'steward-file-'));
    stop = new AbortController();
  });
  afterEach(async () => {
    stop.abort();
    await backend?.close();
    backend = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  async function watching(files: string[], keys = ['/']) {
    backend = createFileBackend(options(files), { debounceMs: 20, backoff: { initialMs: 5_000, maxMs: 5_000 } });
    const snapshot = await backend.read(keys, stop.signal);
    const rec = recorder();
    backend.watch(keys, snapshot.cursor, rec.listener, stop.signal);
    return { snapshot, rec };
  }

  it('delivers an edit, an atomic save (write a temporary file, rename it over) and a new file as deltas', async () => {
    const file = write('app.yaml', 'app:\n  a: 1\n  b: 2\n');
    write('conf.d/one.yaml', 'one: 1\n');
    const { rec } = await watching([file, join(dir, 'conf.d')]);

    writeFileSync(file, 'app:\n  a: 1\n  b: 3\n');
    assert.deepEqual(await rec.next('the edit', isUpdate), { update: { kind: 'delta', set: new Map([['/app/b', '3']]), deleted: [] } });

    writeFileSync(join(dir, '.app.yaml.tmp'), 'app:\n  a: 10\n');
    renameSync(join(dir, '.app.yaml.tmp'), file);
    assert.deepEqual(await rec.next('the atomic save', isUpdate), {
      update: { kind: 'delta', set: new Map([['/app/a', '10']]), deleted: ['/app/b'] },
    });

    writeFileSync(join(dir, 'conf.d/.one.yaml.swp'), 'one: 2\n');
    renameSync(join(dir, 'conf.d/.one.yaml.swp'), join(dir, 'conf.d/one.yaml'));
    assert.deepEqual(await rec.next('the atomic save in a directory', isUpdate), {
      update: { kind: 'delta', set: new Map([['/one', '2']]), deleted: [] },
    });

    write('conf.d/sub/two.json', '{"two": 2}');
    assert.deepEqual(await rec.next('the new file', isUpdate), { update: { kind: 'delta', set: new Map([['/two', '2']]), deleted: [] } });
    assert.equal(rec.events.filter(isStatus).length, 0);
  });

  it('sees a change made between read() and watch()', async () => {
    const file = write('app.yaml', 'a: 1\n');
    backend = createFileBackend(options([file]), { debounceMs: 20 });
    const snapshot = await backend.read(['/'], stop.signal);
    writeFileSync(file, 'a: 2\n');
    const rec = recorder();
    backend.watch(['/'], snapshot.cursor, rec.listener, stop.signal);
    assert.deepEqual(await rec.next('the change', isUpdate), { update: { kind: 'delta', set: new Map([['/a', '2']]), deleted: [] } });
  });

  it('keeps the last good values while a file is broken, reports it, and recovers', async () => {
    const file = write('app.yaml', 'a: 1\nb: 2\n');
    const { rec } = await watching([file]);
    writeFileSync(file, 'a: 5\nb: [\n');
    const down = await rec.next('the parse error', isStatus);
    assert.equal((down as { status: BackendStatus }).status.state, 'unreachable');
    assert.match((down as { status: { error: string } }).status.error, new RegExp(`${file.replaceAll('.', '\\.')}: line \\d+`));
    writeFileSync(file, 'a: 5\nb: 2\n');
    assert.deepEqual(await rec.next('ok', isStatus), { status: { state: 'ok' } });
    assert.deepEqual(await rec.next('the change', isUpdate), { update: { kind: 'delta', set: new Map([['/a', '5']]), deleted: [] } });
    assert.equal(rec.events.filter(isUpdate).length, 1, 'no partial update while the file was broken');
  });

  it('delivers only changes under the watched keys', async () => {
    const file = write('app.yaml', 'app:\n  db: 1\nother: 1\n');
    const { rec } = await watching([file], ['/app/db']);
    writeFileSync(file, 'app:\n  db: 1\nother: 2\n');
    writeFileSync(file, 'app:\n  db: 2\nother: 3\n');
    assert.deepEqual(await rec.next('the change', isUpdate), { update: { kind: 'delta', set: new Map([['/app/db', '2']]), deleted: [] } });
    assert.equal(rec.events.filter(isUpdate).length, 1);
  });

  it('close() stops watching and leaves no handle behind', async () => {
    const file = write('app.yaml', 'a: 1\n');
    const module = fileURLToPath(new URL('../../src/backends/file.ts', import.meta.url));
    const script = `
      import { writeFileSync } from 'node:fs';
      import { createFileBackend } from ${JSON.stringify(module)};
      const b = createFileBackend({ nodes: [], scheme: 'http', files: [${JSON.stringify(file)}], tls: {}, env: {} }, { debounceMs: 10 });
      const c = new AbortController();
      const s = await b.read(['/'], c.signal);
      b.watch(['/'], s.cursor, { update() { process.stdout.write('update;'); }, status() {} }, c.signal);
      process.stdin.once('data', async () => { process.stdin.destroy(); await b.close(); process.stdout.write('closed'); });
      writeFileSync(${JSON.stringify(file)}, 'a: 2\\n');
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    let updatedResolve = (): void => {};
    const updated = new Promise<void>((resolve) => (updatedResolve = resolve));
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('update;')) updatedResolve();
    });
    const exited = once(child, 'exit');
    await updated;
    child.stdin.write('close\n');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    const [code, signalName] = (await exited) as [number | null, string | null];
    clearTimeout(timer);
    assert.equal(out, 'update;closed');
    assert.deepEqual([code, signalName], [0, null], 'the child exits by itself after close()');
  });
});
