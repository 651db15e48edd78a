// Entry point: argv and environment into one validated Settings object, then the run loop.
// Only node: built-ins and the FFI are imported here; everything else loads on first use.

import './init/sigusr1-guard.ts';
import './init/compile-cache-first.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgv } from './config/argv.ts';
import { parseClientArgv } from './control/client-argv.ts';
import { helpText } from './config/help.ts';
import { maskSecretFlags } from './config/secrets.ts';
import { resolveSettings, unknownStewardVariables } from './config/settings.ts';
import { createBus } from './core/bus.ts';
import { childEnv, type ChildUsers } from './core/child-rule.ts';
import { systemClock } from './core/clock.ts';
import { EXIT, StewardError, UsageError } from './core/exit-codes.ts';
import { installRoot } from './core/install-root.ts';
import { createLogger } from './core/log.ts';
import { run } from './core/run.ts';
import { loadLibc } from './init/libc.ts';
import { resolveAppUser } from './init/user.ts';
import { assembleParts } from './parts.ts';

// 22.12 is the first 22.x whose require() loads ES modules (execa, chokidar) from dist/'s CommonJS.
const MIN_NODE: readonly [number, number] = [22, 12];

function version(): string {
  const pkg = JSON.parse(readFileSync(join(installRoot(), 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  if (major < MIN_NODE[0] || (major === MIN_NODE[0] && minor < MIN_NODE[1])) {
    throw new StewardError(
      `needs Node.js ${MIN_NODE.join('.')} or later, but ${process.execPath} is ${process.version} (set STEWARD_NODE to a newer node)`,
      EXIT.config,
    );
  }
  const client = parseClientArgv(argv);
  if (client !== undefined) {
    const { runClient } = await import('./control/client.ts');
    const result = await runClient(client, env['STEWARD_CONTROL_SOCKET'] || 'auto', env);
    process.stdout.write(result.stdout);
    return result.exitCode;
  }
  const parsed = parseArgv(argv);
  // A secret given as a flag is readable in /proc/<pid>/cmdline: overwrite it there at once.
  const secretFlags = maskSecretFlags(argv, argv.length - parsed.command.length);
  if (secretFlags.flags.length > 0) process.title = ['steward', ...secretFlags.masked].join(' ');
  const { settings, sources } = resolveSettings(parsed, env);
  if (settings.help) {
    process.stdout.write(helpText());
    return EXIT.ok;
  }
  if (settings.version) {
    process.stdout.write(`steward ${version()}\n`);
    return EXIT.ok;
  }
  if (settings.pruneDryRun) {
    const { pruneDryRun } = await import('./jobs/prune-dry-run.ts');
    process.stdout.write(pruneDryRun({ env, configFile: settings.config, timeZone: settings.tz }, systemClock(), settings.backupFutureTolerance));
    return EXIT.ok;
  }
  const runsNoApp = settings.once || settings.noop || settings.check;
  if (parsed.command.length === 0 && !runsNoApp) {
    throw new UsageError('no command given (usage: steward [options] [--] <command> [args...]; see steward --help)');
  }

  const libc = loadLibc();
  const resolveUser = (spec: string, source: string) => resolveAppUser(spec, libc, source, process.getuid?.() ?? 0);
  const appUser = settings.user === undefined ? undefined : resolveUser(settings.user, sources.get('user')?.name ?? 'STEWARD_USER');
  const users: ChildUsers = { app: appUser, resolve: resolveUser };
  // The app follows the same rule as every other child (core/child-rule.ts): no steward secrets.
  const appEnv = childEnv(env, appUser);

  const log = createLogger({ level: settings.logLevel, format: settings.logFormat });
  for (const flag of secretFlags.flags) {
    log.warn(`${flag} was given on the command line, where other processes could read it until steward started; use its _FILE variable instead (docs/security.md)`);
  }
  for (const { name, suggestion } of unknownStewardVariables(env)) {
    log.warn(`unknown variable ${name}${suggestion === undefined ? '' : ` (did you mean ${suggestion}?)`}`);
  }
  const bus = createBus((name, error) => log.error('event handler failed', { event: name, error: String(error) }));
  const clock = systemClock();
  const { startOperator } = await import('./control/operator.ts');
  const operator = await startOperator({
    controlSocket: settings.controlSocket,
    // `docker exec c steward --once` inherits the container's addresses, which the running
    // steward holds: a one-shot run serves no endpoint.
    statusAddr: runsNoApp ? undefined : settings.statusAddr,
    metricsAddr: runsNoApp ? undefined : settings.metricsAddr,
    env,
    version: version(),
    bus,
    log,
    clock,
  });
  try {
    return await run({
      settings,
      command: runsNoApp ? [] : parsed.command,
      appEnv,
      appUser,
      libc,
      bus,
      log,
      clock,
      parts: () => assembleParts({ settings, sources, env, users, bus, log, clock, libc, register: operator.register }),
    });
  } finally {
    await operator.close();
    await log.flush();
  }
}

main(process.argv.slice(2), process.env).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof StewardError) {
      process.stderr.write(`steward: ${error.message}\n`);
      process.exit(error.exitCode);
    }
    process.stderr.write(`steward: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(EXIT.software);
  },
);
