// `node --cpu-prof` works on steward: V8's sampler signals with SIGPROF, which steward must leave
// alone (a listener took it over, forwarded the samples to the app and, once removed, let the
// next sample kill steward with "Profiling timer expired").

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { APP, NODE, ROOT } from '../support/steward.ts';

const dir = mkdtempSync(join(tmpdir(), 'steward-cpu-prof-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Outcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs dist/cli.js under the profiler; `onLine` sees each stdout line and may signal steward. */
function runProfiled(args: readonly string[], profileDir: string, onLine: (line: string, pid: number) => void = () => {}): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const proc = spawn(NODE, ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, '--cpu-prof-interval=100', join(ROOT, 'dist', 'cli.js'), ...args], {
      env: { ...process.env, STEWARD_LOG_FORMAT: 'json', STEWARD_CONTROL_SOCKET: 'off' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (c: string) => {
      const done = stdout.split('\n').length - 1;
      stdout += c;
      for (const line of stdout.split('\n').slice(done, -1)) onLine(line, proc.pid ?? -1);
    });
    proc.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    proc.on('error', reject);
    proc.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

function profileIn(profileDir: string): { nodes: unknown[]; samples: unknown[] } {
  const profiles = readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile'));
  assert.equal(profiles.length, 1);
  return JSON.parse(readFileSync(join(profileDir, profiles[0] ?? ''), 'utf8')) as { nodes: unknown[]; samples: unknown[] };
}

describe('profiling steward with node --cpu-prof', () => {
  it('exits normally with the app and writes a .cpuprofile', async () => {
    const profileDir = join(dir, 'run');
    // The app lives long enough for thousands of 100 µs samples.
    const outcome = await runProfiled(['--', NODE, '-e', 'setTimeout(() => {}, 400)'], profileDir);
    assert.equal(outcome.signal, null, outcome.stderr);
    assert.equal(outcome.code, 0, outcome.stderr);
    assert.doesNotMatch(outcome.stderr, /Profiling timer expired/);
    const profile = profileIn(profileDir);
    assert.ok(profile.nodes.length > 0);
    assert.ok(profile.samples.length > 0);
  });

  it('forwards signals to the app while profiling, but not the profiler\'s SIGPROF', async () => {
    const profileDir = join(dir, 'app');
    const outcome = await runProfiled(['--', NODE, APP], profileDir, (line, pid) => {
      if (line.startsWith('ready')) process.kill(pid, 'SIGUSR2');
      if (line === 'got SIGUSR2') process.kill(pid, 'SIGTERM');
    });
    assert.equal(outcome.code, 0, outcome.stderr);
    const lines = outcome.stdout.split('\n');
    assert.ok(lines.includes('got SIGUSR2'));
    assert.ok(lines.includes('got SIGTERM'));
    assert.ok(!lines.includes('got SIGPROF'), 'the app received the profiler\'s SIGPROF');
    assert.ok(profileIn(profileDir).samples.length > 0);
  });
});
