// The configuration part against an in-memory backend: what lands on disk, what the bus says to
// the app, and what happens when keys are missing, checks fail or the backend goes away.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseArgv } from '../../src/config/argv.ts';
import { resolveSettings } from '../../src/config/settings.ts';
import { createBus, type Bus } from '../../src/core/bus.ts';
import { systemClock } from '../../src/core/clock.ts';
import type { Events } from '../../src/core/events.ts';
import { ConfigError, UnavailableError } from '../../src/core/exit-codes.ts';
import type { Part } from '../../src/core/part.ts';
import { loadResources } from '../../src/resources/load-resources.ts';
import { createTemplatesPart } from '../../src/resources/templates-part.ts';
import { recordingLogger, type Recorded } from '../support/logs.ts';
import { memoryBackend, type MemoryBackend } from '../support/memory-backend.ts';
import { until } from '../support/until.ts';

interface Fixture {
  dir: string;
  out: string;
  part: Part;
  bus: Bus;
  backend: MemoryBackend;
  logs: Recorded[];
  reloads: Events['app.reload'][];
  restarts: Events['app.restart'][];
  stop(): Promise<void>;
}

function setup(options: {
  resources: Record<string, string>;
  templates: Record<string, string>;
  values?: Record<string, string>;
  env?: Record<string, string>;
}): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'steward-part-'));
  const out = join(dir, 'out');
  mkdirSync(join(dir, 'conf.d'));
  mkdirSync(join(dir, 'templates'));
  mkdirSync(out);
  for (const [name, text] of Object.entries(options.resources)) writeFileSync(join(dir, 'conf.d', name), text.replaceAll('$OUT', out));
  for (const [name, text] of Object.entries(options.templates)) writeFileSync(join(dir, 'templates', name), text);
  const env = { STEWARD_WAIT: '0', STEWARD_CONFIG_TIMEOUT: '5s', ...options.env };
  const { settings } = resolveSettings(parseArgv([]), env);
  const logs: Recorded[] = [];
  const log = recordingLogger(logs);
  const bus = createBus(() => {});
  const reloads: Events['app.reload'][] = [];
  const restarts: Events['app.restart'][] = [];
  bus.on('app.reload', (e) => reloads.push(e));
  bus.on('app.restart', (e) => restarts.push(e));
  const backend = memoryBackend(options.values);
  const resources = loadResources({ confdir: dir, prefix: undefined, log });
  const part = createTemplatesPart({ settings, env, resources, bus, log, clock: systemClock(), backend });
  return {
    dir,
    out,
    part,
    bus,
    backend,
    logs,
    reloads,
    restarts,
    stop: () => part.stop?.({ deadline: systemClock().monotonic() + 2000, reason: 'test' }) ?? Promise.resolve(),
  };
}

const appToml = (extra = '') => `[template]\nsrc = "app.tmpl"\ndest = "$OUT/app.conf"\nkeys = ["/app"]\n${extra}`;
const otherToml = `[template]\nsrc = "other.tmpl"\ndest = "$OUT/other.conf"\nkeys = ["/other"]\n`;
const appTmpl = 'host={{ getv "/app/host" }}\n';
const otherTmpl = 'x={{ getv "/other/x" }}\n';

function read(f: Fixture, name: string): string {
  return readFileSync(join(f.out, name), 'utf8');
}

describe('templates part', () => {
  it('renders every resource before the app may start, and signals nothing then', async () => {
    const f = setup({ resources: { 'app.toml': appToml(), 'other.toml': otherToml }, templates: { 'app.tmpl': appTmpl, 'other.tmpl': otherTmpl }, values: { '/app/host': 'db1', '/other/x': '1' } });
    await f.part.prepare?.(new AbortController().signal);
    assert.equal(read(f, 'app.conf'), 'host=db1\n');
    assert.equal(read(f, 'other.conf'), 'x=1\n');
    assert.deepEqual(f.reloads, []);
    await f.stop();
  });

  it('waits for a key that does not exist yet, logging it, then renders it', async () => {
    const f = setup({ resources: { 'app.toml': appToml() }, templates: { 'app.tmpl': appTmpl } });
    const prepared = f.part.prepare?.(new AbortController().signal);
    await new Promise((r) => setImmediate(r));
    assert.equal(existsSync(join(f.out, 'app.conf')), false);
    f.backend.set('/app/host', 'late');
    await prepared;
    assert.equal(read(f, 'app.conf'), 'host=late\n');
    await f.stop();
  });

  it('gives up on a missing key after STEWARD_CONFIG_TIMEOUT with a ConfigError naming it', async () => {
    const f = setup({ resources: { 'app.toml': appToml() }, templates: { 'app.tmpl': appTmpl }, env: { STEWARD_CONFIG_TIMEOUT: '300ms' } });
    await assert.rejects(f.part.prepare?.(new AbortController().signal) ?? Promise.resolve(), (e: unknown) => e instanceof ConfigError && /keys still missing after 300ms \(STEWARD_CONFIG_TIMEOUT\): \/app\/host/.test(e.message));
    assert.equal(existsSync(join(f.out, 'app.conf')), false);
    await f.stop();
  });

  it('exits unavailable when the backend cannot be reached before the timeout', async () => {
    const f = setup({ resources: { 'app.toml': appToml() }, templates: { 'app.tmpl': appTmpl }, env: { STEWARD_CONFIG_TIMEOUT: '400ms' } });
    f.backend.setReachable(false);
    await assert.rejects(f.part.prepare?.(new AbortController().signal) ?? Promise.resolve(), (e: unknown) => e instanceof UnavailableError && /cannot reach the memory backend/.test(e.message));
    await f.stop();
  });

  it('refuses a template with a syntax error, naming the resource and line', async () => {
    const f = setup({ resources: { 'app.toml': appToml() }, templates: { 'app.tmpl': 'ok\n{{ if }}\n' }, values: { '/app/host': 'h' } });
    await assert.rejects(f.part.prepare?.(new AbortController().signal) ?? Promise.resolve(), (e: unknown) => e instanceof ConfigError && /^app\.toml: template: app\.tmpl:2: /.test(e.message));
    await f.stop();
  });

  it('refuses to start when the first check fails, leaving no file', async () => {
    const f = setup({ resources: { 'app.toml': appToml('check_cmd = "grep -q good {{.src}}"\n') }, templates: { 'app.tmpl': appTmpl }, values: { '/app/host': 'bad' } });
    await assert.rejects(f.part.prepare?.(new AbortController().signal) ?? Promise.resolve(), (e: unknown) => e instanceof ConfigError && /app\.toml: check_cmd failed \(exit status 1\)/.test(e.message));
    assert.equal(existsSync(join(f.out, 'app.conf')), false);
    await f.stop();
  });

  it('re-renders only the resources whose keys changed, and sends one SIGHUP', async () => {
    const f = setup({ resources: { 'app.toml': appToml(), 'other.toml': otherToml }, templates: { 'app.tmpl': appTmpl, 'other.tmpl': otherTmpl }, values: { '/app/host': 'a', '/other/x': '1' } });
    await f.part.prepare?.(new AbortController().signal);
    await f.part.run?.();
    const otherBefore = statSync(join(f.out, 'other.conf')).mtimeMs;
    const reload = f.bus.next('app.reload');
    f.backend.set('/app/host', 'b');
    assert.deepEqual(await reload, { signal: 'SIGHUP', reason: `changed: ${join(f.out, 'app.conf')}` });
    assert.equal(read(f, 'app.conf'), 'host=b\n');
    assert.equal(statSync(join(f.out, 'other.conf')).mtimeMs, otherBefore);
    await f.stop();
  });

  it('does not reload when a change renders the same file', async () => {
    const f = setup({ resources: { 'app.toml': appToml() }, templates: { 'app.tmpl': appTmpl }, values: { '/app/host': 'a' } });
    await f.part.prepare?.(new AbortController().signal);
    await f.part.run?.();
    f.backend.set('/app/unused', 'z');
    await until('the unchanged render', () => f.logs.some((l) => l.msg === 'rendered; no change'));
    assert.deepEqual(f.reloads, []);
    f.backend.set('/app/host', 'b');
    await f.bus.next('app.reload');
    assert.equal(f.reloads.length, 1);
    await f.stop();
  });

  it('turns a burst of changes into at most two reloads, with the last value on disk', async () => {
    const f = setup({ resources: { 'app.toml': appToml() }, templates: { 'app.tmpl': appTmpl }, values: { '/app/host': 'v0' }, env: { STEWARD_WAIT: '200ms:2s' } });
    await f.part.prepare?.(new AbortController().signal);
    await f.part.run?.();
    for (let i = 1; i <= 100; i++) {
      f.backend.set('/app/host', `v${i}`);
      // The pace of the burst is what is under test, not a wait.
      await new Promise((r) => setTimeout(r, 5));
    }
    const done = f.bus.next('app.reload');
    await done;
    // Quiet now: the burst is over, the last render must have happened.
    while (read(f, 'app.conf') !== 'host=v100\n') await f.bus.next('app.reload');
    assert.ok(f.reloads.length <= 2, `${f.reloads.length} reloads`);
    await f.stop();
  });

  it('keeps the file and sends nothing when a later check fails', async () => {
    const f = setup({ resources: { 'app.toml': appToml('check_cmd = "grep -qv bad {{.src}}"\n') }, templates: { 'app.tmpl': appTmpl }, values: { '/app/host': 'good' } });
    await f.part.prepare?.(new AbortController().signal);
    await f.part.run?.();
    f.backend.set('/app/host', 'bad');
    await until('the failed check', () => f.logs.some((l) => l.level === 'error'));
    assert.match(f.logs.find((l) => l.level === 'error')?.msg ?? '', /check_cmd rejected the new .*app\.conf; keeping the last one/);
    assert.equal(read(f, 'app.conf'), 'host=good\n');
    assert.deepEqual(f.reloads, []);
    await f.stop();
  });

  it('asks for a restart, or nothing, or runs reload_cmd instead of the signal, as the resource says', async () => {
    const marker = join(tmpdir(), `steward-reload-${process.pid}-${Date.now()}`);
    const f = setup({
      resources: {
        'a.toml': '[template]\nsrc = "t.tmpl"\ndest = "$OUT/a"\nkeys = ["/k"]\nreload = "restart"\n',
        'b.toml': '[template]\nsrc = "t.tmpl"\ndest = "$OUT/b"\nkeys = ["/k"]\nreload = "none"\n',
        'c.toml': `[template]\nsrc = "t.tmpl"\ndest = "$OUT/c"\nkeys = ["/k"]\nreload_cmd = "echo reloaded >> ${marker}"\n`,
      },
      templates: { 't.tmpl': '{{ getv "/k" }}' },
      values: { '/k': '1' },
    });
    await f.part.prepare?.(new AbortController().signal);
    await f.part.run?.();
    const restart = f.bus.next('app.restart');
    f.backend.set('/k', '2');
    await restart;
    await until('reload_cmd', () => existsSync(marker));
    assert.equal(readFileSync(marker, 'utf8'), 'reloaded\n');
    assert.deepEqual(f.reloads, []);
    assert.equal(f.restarts.length, 1);
    await f.stop();
  });

  it('keeps the files while the backend is away, and catches up when it returns', async () => {
    const f = setup({ resources: { 'app.toml': appToml() }, templates: { 'app.tmpl': appTmpl }, values: { '/app/host': 'a' } });
    await f.part.prepare?.(new AbortController().signal);
    await f.part.run?.();
    f.backend.setReachable(false);
    assert.ok(f.logs.some((l) => l.level === 'warn' && /unreachable; the app keeps its last good files/.test(l.msg)));
    assert.equal(read(f, 'app.conf'), 'host=a\n');
    f.backend.values.set('/app/host', 'b');
    const reload = f.bus.next('app.reload');
    f.backend.setReachable(true);
    await reload;
    assert.equal(read(f, 'app.conf'), 'host=b\n');
    await f.stop();
  });

  it('a change between the first render and the app\'s start still reaches the app', async () => {
    const f = setup({ resources: { 'app.toml': appToml() }, templates: { 'app.tmpl': appTmpl }, values: { '/app/host': 'a' }, env: { STEWARD_WAIT: '50ms:100ms' } });
    await f.part.prepare?.(new AbortController().signal);
    f.backend.set('/app/host', 'b');
    const reload = f.bus.next('app.reload');
    await f.part.run?.();
    await reload;
    assert.equal(read(f, 'app.conf'), 'host=b\n');
    await f.stop();
  });
});
