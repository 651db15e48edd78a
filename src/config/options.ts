// The one table of steward's options. Every option `--some-name` is also the variable
// STEWARD_SOME_NAME (a flag wins over the variable); confd's own variables are accepted as
// aliases where steward took over their meaning. --help and docs/configuration.md are
// generated from this table, so a new option is documented where it is declared.

import {
  formatDuration,
  parseBoolean,
  parseChoice,
  parseDuration,
  parseExitCodes,
  parseInteger,
  parseList,
  parseSignal,
  parseSignalRewrite,
  parseWait,
  type SignalName,
  type Wait,
  parsePositiveDuration,
  parseSize,
} from './values.ts';
import { checkTimeZone } from '../jobs/calendar.ts';
import { parseListenAddress, type ListenAddress } from '../control/listen-address.ts';

export type Section = 'mode' | 'init' | 'health' | 'rollout' | 'templates' | 'backend' | 'cluster' | 'discovery' | 'jobs' | 'operations' | 'logging';

export const SECTION_TITLES: Readonly<Record<Section, string>> = {
  mode: 'Modes',
  init: 'Init (PID 1)',
  health: 'Health checks and readiness',
  rollout: 'Rollouts (restarts one replica at a time)',
  templates: 'Configuration templates',
  backend: 'Key/value backend',
  cluster: 'Leader election and membership',
  discovery: 'Service discovery',
  jobs: 'Scheduled jobs, backups and filesystem locks',
  operations: 'Control socket, status and metrics',
  logging: 'Logging',
};

export interface OptionSpec<T> {
  /** Long flag without the dashes. */
  readonly flag: string;
  /** STEWARD_ variable. */
  readonly env: string;
  /** Other variables read when neither the flag nor the STEWARD_ variable is set (confd's). */
  readonly aliases: readonly string[];
  readonly section: Section;
  readonly help: string;
  /** Shown in --help; undefined for a switch that takes no value on the command line. */
  readonly valueHint: string | undefined;
  readonly defaultText: string | undefined;
  /** A secret value never appears in logs or --help output. */
  readonly secret: boolean;
  readonly parse: (raw: string, source: string) => T;
  readonly initial: T;
}

interface Common {
  section: Section;
  help: string;
  aliases?: readonly string[];
  secret?: boolean;
}

function envName(flag: string): string {
  return `STEWARD_${flag.toUpperCase().replaceAll('-', '_')}`;
}

function spec<T>(
  flag: string,
  common: Common,
  valueHint: string | undefined,
  defaultText: string | undefined,
  parse: (raw: string, source: string) => T,
  initial: T,
): OptionSpec<T> {
  return {
    flag,
    env: envName(flag),
    aliases: common.aliases ?? [],
    section: common.section,
    help: common.help,
    valueHint,
    defaultText,
    secret: common.secret ?? false,
    parse,
    initial,
  };
}

function flagOption(flag: string, common: Common): OptionSpec<boolean> {
  return spec(flag, common, undefined, 'false', parseBoolean, false);
}

function durationOption(flag: string, fallback: string, common: Common): OptionSpec<number> {
  return spec(flag, common, 'DURATION', fallback, parseDuration, parseDuration(fallback, flag));
}

function optionalDurationOption(flag: string, common: Common): OptionSpec<number | undefined> {
  return spec<number | undefined>(flag, common, 'DURATION', undefined, parseDuration, undefined);
}

function textOption(flag: string, common: Common, valueHint = 'TEXT'): OptionSpec<string | undefined> {
  return spec<string | undefined>(flag, common, valueHint, undefined, (raw) => (raw === '' ? undefined : raw), undefined);
}

function defaultedTextOption(flag: string, fallback: string, common: Common, valueHint = 'TEXT'): OptionSpec<string> {
  return spec(flag, common, valueHint, fallback, (raw) => (raw === '' ? fallback : raw), fallback);
}

function listOption(flag: string, common: Common, valueHint = 'A,B'): OptionSpec<string[]> {
  return spec(flag, common, valueHint, undefined, (raw) => parseList(raw), []);
}

function choiceOption<T extends string>(flag: string, choices: readonly T[], fallback: T, common: Common): OptionSpec<T> {
  return spec(flag, common, choices.join('|'), fallback, (raw, source) => parseChoice(raw, source, choices), fallback);
}

function optionalChoiceOption<T extends string>(flag: string, choices: readonly T[], common: Common): OptionSpec<T | undefined> {
  return spec<T | undefined>(flag, common, choices.join('|'), undefined, (raw, source) => parseChoice(raw, source, choices), undefined);
}

/** An HTTP endpoint's address, off when unset. */
function addressOption(flag: string, what: string): OptionSpec<ListenAddress | undefined> {
  const help = `${what} (HOST:PORT; a bare PORT binds to 127.0.0.1). Off when unset.`;
  return spec<ListenAddress | undefined>(flag, { section: 'operations', help }, 'HOST:PORT', undefined, parseListenAddress, undefined);
}

export const RESTART_POLICIES = ['never', 'on-failure', 'always'] as const;
export type RestartPolicy = (typeof RESTART_POLICIES)[number];
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export const BACKENDS = ['consul', 'etcd', 'etcdv3', 'file', 'env'] as const;
export type BackendName = (typeof BACKENDS)[number];
export const ELECTION_BACKENDS = ['etcd', 'consul', 'file'] as const;
export const ROLLOUT_ORDERS = ['stop-first', 'start-first'] as const;
export type RolloutOrder = (typeof ROLLOUT_ORDERS)[number];
export type ElectionBackendName = (typeof ELECTION_BACKENDS)[number];

export const OPTIONS = {
  help: flagOption('help', { section: 'mode', help: 'Print this help and exit.' }),
  version: flagOption('version', { section: 'mode', help: 'Print the version and exit.' }),
  once: flagOption('once', {
    section: 'mode',
    aliases: ['CONFD_ONETIME'],
    help: 'Render every template resource once (with its check and reload commands), then exit 0 without starting the app.',
  }),
  noop: flagOption('noop', {
    section: 'mode',
    aliases: ['CONFD_NOOP'],
    help: 'Render every template resource and log what would change as a diff; write, run and start nothing, then exit.',
  }),
  check: flagOption('check', {
    section: 'mode',
    help: 'Validate the configuration, template resources and templates (no backend contact), then exit.',
  }),
  pruneDryRun: flagOption('prune-dry-run', {
    section: 'mode',
    help: 'Print what backup retention would keep and delete (and which rule keeps each artifact), then exit.',
  }),

  signalGroup: flagOption('signal-group', {
    section: 'init',
    help: "Forward signals to the app's whole process group instead of the app alone.",
  }),
  signalRewrite: spec<Map<SignalName, SignalName | null>>(
    'signal-rewrite',
    { section: 'init', help: 'Rewrite forwarded signals, e.g. TERM:QUIT (Mesos sends TERM, nginx wants QUIT). FROM:0 drops FROM.' },
    'FROM:TO,...',
    undefined,
    parseSignalRewrite,
    new Map(),
  ),
  user: textOption('user', {
    section: 'init',
    help: "Run the app as this user (name, uid, or uid:gid), with the user's supplementary groups and HOME.",
  }, 'USER'),
  successExitCodes: spec<Set<number>>(
    'success-exit-codes',
    { section: 'init', help: "App exit codes that steward reports as 0 (like tini -e)." },
    'N,...',
    undefined,
    parseExitCodes,
    new Set(),
  ),
  stopTimeout: durationOption('stop-timeout', '8s', {
    section: 'init',
    help: 'Budget for a graceful stop: the app, leftover processes and shutdown steps; then SIGKILL.',
  }),
  restart: choiceOption('restart', RESTART_POLICIES, 'never', {
    section: 'init',
    help: 'Restart the app when it exits: never (the orchestrator restarts the container), on-failure, always.',
  }),
  restartLimit: spec('restart-limit', {
    section: 'init',
    help: 'Give up after this many restarts in a row and exit with the app\'s status (0 = no limit).',
  }, 'N', '0', (raw, source) => parseInteger(raw, source, 0, 1_000_000), 0),
  restartBackoff: durationOption('restart-backoff', '1s', {
    section: 'init',
    help: 'First delay before a restart; it doubles after each quick failure, up to 30 times the first delay.',
  }),
  stopSignal: spec<SignalName>('stop-signal', {
    section: 'init',
    help: 'Signal sent to the app to stop it for a restart or when steward stops on its own.',
  }, 'SIGNAL', 'TERM', parseSignal, 'SIGTERM'),

  // Sidecars (src/processes/): each is declared by STEWARD_PROCESS_<NAME>_<FIELD> variables
  // (read by processes/config.ts, not by this table) or by a file in this directory.
  processDir: textOption('process-dir', {
    section: 'init',
    help: 'Directory of sidecar files (*.toml, one per process, like supervisor\'s conf.d); sidecars are also declared as STEWARD_PROCESS_<NAME>_COMMAND and its _RESTART, _USER, _AFTER, _HEALTH_*... variables (docs/processes.md).',
  }, 'DIR'),

  healthCmd: textOption('health-cmd', {
    section: 'health',
    help: "Health check command, split as a shell would and run without one (write sh -c '...' for a shell); exit 0 = healthy. Gets STEWARD_APP_PID; {pid} in its words is the app's pid.",
  }, 'COMMAND'),
  healthHttp: textOption('health-http', {
    section: 'health',
    help: 'Health check URL (http or https): a 2xx or 3xx answer is healthy (redirects are not followed).',
  }, 'URL'),
  healthHttpStatus: spec<Set<number>>('health-http-status', {
    section: 'health',
    help: 'Other HTTP status codes that count as healthy for STEWARD_HEALTH_HTTP, e.g. 401,404.',
  }, 'N,...', undefined, (raw, source) => new Set(parseList(raw).map((item) => parseInteger(item, source, 100, 599))), new Set()),
  healthTcp: listOption('health-tcp', {
    section: 'health',
    help: 'Health check: every HOST:PORT listed must accept a TCP connection.',
  }, 'HOST:PORT,...'),
  healthNotify: flagOption('health-notify', {
    section: 'health',
    help: 'Give the app a NOTIFY_SOCKET (sd_notify) and count it started when it sends READY=1; STATUS= is kept.',
  }),
  healthInterval: durationOption('health-interval', '10s', {
    section: 'health',
    help: 'Time between the end of one check and the start of the next, after the start period.',
  }),
  healthTimeout: durationOption('health-timeout', '5s', {
    section: 'health',
    help: 'A check that takes longer fails; a command is stopped (TERM, then KILL).',
  }),
  healthRetries: spec('health-retries', {
    section: 'health',
    help: 'Failures in a row, after the start period, that make the app unhealthy.',
  }, 'N', '3', (raw, source) => parseInteger(raw, source, 1, 1_000_000), 3),
  healthStartPeriod: durationOption('health-start-period', '0s', {
    section: 'health',
    help: "Start-up time during which failed checks do not count (a success ends it early).",
  }),
  healthStartInterval: durationOption('health-start-interval', '1s', {
    section: 'health',
    help: 'Time between checks during the start period.',
  }),
  healthRestartAfter: optionalDurationOption('health-restart-after', {
    section: 'health',
    help: "Restart an app that has been unhealthy this long (0 = at once), with STEWARD_RESTART_LIMIT and STEWARD_RESTART_BACKOFF; never waits for a cluster lock.",
  }),
  onHealthy: textOption('on-healthy', { section: 'health', help: 'Command run when the app becomes healthy (STEWARD_HEALTH tells the state).' }, 'COMMAND'),
  onUnhealthy: textOption('on-unhealthy', { section: 'health', help: "Command run when the app becomes unhealthy (STEWARD_HEALTH_OUTPUT holds the last check's output)." }, 'COMMAND'),

  // Rollouts (issue 13): a resource with reload = "restart" restarts the app through this sequence.
  rolloutLock: textOption('rollout-lock', {
    section: 'rollout',
    help: 'Name of the cluster-wide lock a restart for a changed configuration waits for, in the election\'s store (etcd, Consul or STEWARD_LOCK_DIR). Unset: no lock, the sequence runs alone.',
  }, 'NAME'),
  rolloutParallel: spec('rollout-parallel', {
    section: 'rollout',
    help: 'How many replicas may restart at once under STEWARD_ROLLOUT_LOCK.',
  }, 'N', '1', (raw, source) => parseInteger(raw, source, 1, 1000), 1),
  rolloutWindow: spec<Wait | undefined>('rollout-window', {
    section: 'rollout',
    help: 'Wait until the configuration has been quiet for MIN, at most MAX, before asking for the lock; replaces STEWARD_WAIT (and a resource\'s wait) for restart resources.',
  }, 'MIN:MAX', undefined, parseWait, undefined),
  rolloutTimeout: durationOption('rollout-timeout', '10m', {
    section: 'rollout',
    help: 'How long the restarted app has to become healthy (and STEWARD_ROLLOUT_WAIT_UNHEALTHY to see it fail); past it the lock is kept until the app is healthy.',
  }),
  rolloutHealthyFor: durationOption('rollout-healthy-for', '0s', {
    section: 'rollout',
    help: 'After the restarted app is healthy, hold the lock this much longer.',
  }),
  rolloutWait: durationOption('rollout-wait', '10s', {
    section: 'rollout',
    help: 'Without a health check: how long after the restart the lock is held.',
  }),
  rolloutPreStop: textOption('rollout-pre-stop', {
    section: 'rollout',
    help: 'Command run under the lock before the app is stopped ({pid} is the app\'s pid; STEWARD_APP_PID too).',
  }, 'COMMAND'),
  rolloutWaitUnhealthy: flagOption('rollout-wait-unhealthy', {
    section: 'rollout',
    help: 'After the pre-stop command, wait until the health check fails (a load balancer drops the app), at most STEWARD_ROLLOUT_TIMEOUT.',
  }),
  rolloutOrder: choiceOption('rollout-order', ROLLOUT_ORDERS, 'stop-first', {
    section: 'rollout',
    help: 'stop-first, or start-first: the new process starts beside the old one (SO_REUSEPORT) and the old one stops once the new one is ready.',
  }),

  confdir: defaultedTextOption('confdir', '/etc/confd', {
    section: 'templates',
    aliases: ['CONFD_CONFDIR'],
    help: 'confd directory: template resources in conf.d/, templates in templates/.',
  }, 'DIR'),
  prefix: textOption('prefix', {
    section: 'templates',
    aliases: ['CONFD_PREFIX'],
    help: "Key prefix for every template resource (replaces a resource's own prefix, as in confd).",
  }, 'PATH'),
  wait: spec<Wait>('wait', {
    section: 'templates',
    help: 'Quiescence after a change: render MIN after the last change, at most MAX after the first (0 = at once). A resource may set its own `wait`.',
  }, 'MIN:MAX', '100ms:1s', parseWait, { minMs: 100, maxMs: 1000 }),
  commandTimeout: durationOption('command-timeout', '30s', {
    section: 'templates',
    help: 'Longest a check_cmd or reload_cmd may run before it is stopped and counted as failed.',
  }),
  reloadHold: durationOption('reload-hold', '30s', {
    section: 'templates',
    help: 'When a resource of a batch of changes cannot be installed, how long the app\'s reload waits for it; the files that did change are installed at once.',
  }),
  configTimeout: durationOption('config-timeout', '60s', {
    section: 'templates',
    help: 'How long to wait for missing keys and an unreachable backend before the app starts.',
  }),
  // Render limits (issue 11): docs/templates.md, "Where templates run, and their limits".
  renderTimeout: spec('render-timeout', {
    section: 'templates',
    help: 'Longest one template may take to render; a longer render is stopped and fails like a bad template (the last good file stays).',
  }, 'DURATION', '10s', parsePositiveDuration, 10_000),
  renderMaxBytes: spec('render-max-bytes', {
    section: 'templates',
    help: 'Largest file one template may render; a larger output is stopped and fails like a bad template (the last good file stays).',
  }, 'SIZE', '64MB', parseSize, 64 * 1024 * 1024),
  interval: optionalDurationOption('interval', {
    section: 'templates',
    aliases: ['CONFD_INTERVAL'],
    help: 'Also re-sync every resource on this period, in addition to watching for changes.',
  }),
  syncOnly: flagOption('sync-only', {
    section: 'templates',
    aliases: ['CONFD_SYNC_ONLY'],
    help: 'Write files but never run check or reload commands and never signal the app (as confd -sync-only).',
  }),
  keepStageFile: flagOption('keep-stage-file', {
    section: 'templates',
    aliases: ['CONFD_KEEP_STAGE_FILE'],
    help: 'Leave stage files in place after each render (for debugging).',
  }),
  watchTemplates: flagOption('watch-templates', {
    section: 'templates',
    help: 'Local development: re-render when template or resource files under the confdir change.',
  }),

  backend: choiceOption('backend', BACKENDS, 'consul', {
    section: 'backend',
    aliases: ['CONFD_BACKEND'],
    help: 'Key/value backend for templates (etcd and etcdv3 both mean etcd v3).',
  }),
  node: listOption('node', {
    section: 'backend',
    aliases: ['CONFD_NODE'],
    help: 'Backend addresses, with or without a scheme, comma-separated.',
  }, 'ADDR,...'),
  scheme: defaultedTextOption('scheme', 'http', {
    section: 'backend',
    aliases: ['CONFD_SCHEME'],
    help: 'Scheme for backend addresses given without one.',
  }, 'http|https'),
  file: listOption('file', {
    section: 'backend',
    aliases: ['CONFD_FILE'],
    help: 'YAML or JSON files for the file backend, comma-separated.',
  }, 'PATH,...'),
  clientCert: textOption('client-cert', { section: 'backend', aliases: ['CONFD_CLIENT_CERT'], help: 'TLS client certificate.' }, 'PATH'),
  clientKey: textOption('client-key', { section: 'backend', aliases: ['CONFD_CLIENT_KEY'], help: 'TLS client key.' }, 'PATH'),
  clientCakeys: textOption('client-cakeys', { section: 'backend', aliases: ['CONFD_CLIENT_CAKEYS'], help: 'CA certificates to trust for the backend.' }, 'PATH'),
  username: textOption('username', { section: 'backend', aliases: ['CONFD_USERNAME'], help: 'Backend user name (etcd).' }, 'NAME'),
  password: textOption('password', { section: 'backend', aliases: ['CONFD_PASSWORD'], secret: true, help: 'Backend password (etcd).' }, 'SECRET'),
  token: textOption('token', {
    section: 'backend',
    aliases: ['CONSUL_HTTP_TOKEN'],
    secret: true,
    help: 'Consul ACL token.',
  }, 'SECRET'),

  election: textOption('election', {
    section: 'cluster',
    help: 'Turns leader election on; the name scopes it (write e.g. myapp-prod).',
  }, 'NAME'),
  electionBackend: optionalChoiceOption('election-backend', ELECTION_BACKENDS, {
    section: 'cluster',
    help: 'Where replicas coordinate: etcd, consul or file. Default: CONFD_BACKEND when it is set to etcd or consul (same CONFD_NODE), else file.',
  }),
  electionTtl: durationOption('election-ttl', '15s', {
    section: 'cluster',
    help: 'Lease/session time to live; a leader that cannot renew steps down before it expires.',
  }),
  keyPrefix: defaultedTextOption('key-prefix', '/steward', {
    section: 'cluster',
    help: 'Where election and member keys live: PREFIX/NAME/leader, PREFIX/NAME/members/ID.',
  }, 'PATH'),
  instanceId: textOption('instance-id', {
    section: 'cluster',
    help: "This replica's id (default: the hostname, i.e. the container id under Docker).",
  }, 'ID'),
  advertiseAddr: textOption('advertise-addr', {
    section: 'cluster',
    help: 'The address other replicas see (default: the first non-loopback IPv4 address).',
  }, 'ADDR'),
  lockDir: textOption('lock-dir', {
    section: 'cluster',
    help: 'Directory on a volume shared by the replicas, for the file election backend.',
  }, 'DIR'),
  onLeader: textOption('on-leader', { section: 'cluster', help: 'Command run when this replica becomes leader (split as a shell would; no shell).' }, 'COMMAND'),
  onFollower: textOption('on-follower', { section: 'cluster', help: 'Command run when this replica becomes follower.' }, 'COMMAND'),
  onRoleChange: textOption('on-role-change', { section: 'cluster', help: 'Command run on every role change (the first role included).' }, 'COMMAND'),
  onMembersChange: textOption('on-members-change', { section: 'cluster', help: 'Command run when replicas join or leave.' }, 'COMMAND'),
  hookUser: textOption('hook-user', {
    section: 'cluster',
    help: "Run hooks as this user (name, uid, or uid:gid) instead of the app's user (docs/children.md).",
  }, 'USER'),
  hookTimeout: durationOption('hook-timeout', '30s', {
    section: 'cluster',
    help: 'Longest a hook may run; a new transition also stops a running hook.',
  }),
  roleFile: textOption('role-file', {
    section: 'cluster',
    help: 'File holding the current role (leader or follower), written atomically.',
  }, 'PATH'),
  roleSignal: spec<SignalName | undefined>('role-signal', {
    section: 'cluster',
    help: 'Signal sent to the app on every role change (none by default).',
  }, 'SIGNAL', undefined, parseSignal, undefined),
  waitFor: listOption('wait-for', {
    section: 'cluster',
    help: 'Conditions that must hold before the app starts: key:/some/key, leader:ELECTION, tcp:HOST:PORT, healthy:URL or healthy:HOST:PORT.',
  }, 'COND,...'),
  waitForTimeout: durationOption('wait-for-timeout', '60s', {
    section: 'cluster',
    help: 'How long to wait for --wait-for conditions before exiting 69.',
  }),

  // ---- service discovery (docs/discovery.md) ----
  serviceName: textOption('service-name', {
    section: 'discovery',
    help: "Registers the app as this service (Consul's agent, etcd or the shared directory), passing or failing its check with the app's health. STEWARD_SERVICE_META_<KEY>=VALUE adds metadata.",
  }, 'NAME'),
  serviceId: textOption('service-id', { section: 'discovery', help: "The registration's id (default: NAME-HOSTNAME)." }, 'ID'),
  servicePort: spec<number | undefined>('service-port', {
    section: 'discovery',
    help: 'The port the service listens on, as registered.',
  }, 'PORT', undefined, (raw, source) => parseInteger(raw, source, 0, 65535), undefined),
  serviceAddress: textOption('service-address', {
    section: 'discovery',
    help: "The address registered (default: STEWARD_ADVERTISE_ADDR, else the first non-loopback IPv4 address).",
  }, 'ADDR'),
  serviceTags: listOption('service-tags', { section: 'discovery', help: 'Tags of the registration, comma-separated.' }, 'TAG,...'),
  serviceBackend: optionalChoiceOption('service-backend', ELECTION_BACKENDS, {
    section: 'discovery',
    help: 'Where services are registered and read (the service functions of templates): consul, etcd or file (under STEWARD_LOCK_DIR). Default: as STEWARD_ELECTION_BACKEND.',
  }),
  serviceTtl: durationOption('service-ttl', '10s', {
    section: 'discovery',
    help: "The registration's TTL check: steward passes or fails it every half TTL; a registration steward stops refreshing is critical (Consul) or gone (etcd, file) after it.",
  }),
  serviceDeregisterAfter: durationOption('service-deregister-after', '1m', {
    section: 'discovery',
    help: "Consul's DeregisterCriticalServiceAfter: a registration critical this long (steward killed) is removed by the agent.",
  }),
  deregisterDelay: durationOption('deregister-delay', '2s', {
    section: 'discovery',
    help: 'On stop, steward deregisters first, then waits this long (within the stop budget) for load balancers to drop the instance, then stops the app.',
  }),
  consulAddr: textOption('consul-addr', {
    section: 'discovery',
    aliases: ['CONSUL_HTTP_ADDR'],
    help: "The Consul agent services register with (HOST:PORT or a URL). Default: CONSUL_HTTP_ADDR, else CONFD_NODE when the backend is consul, else 127.0.0.1:8500.",
  }, 'ADDR'),

  config: textOption('config', {
    section: 'jobs',
    help: 'TOML file with [job.<name>] and [backup.<name>] tables (docs/jobs.md).',
  }, 'FILE'),
  tz: spec<string>('tz', {
    section: 'jobs',
    help: 'Time zone of job schedules and backup periods.',
  }, 'ZONE', 'UTC', (raw, source) => checkTimeZone(raw.trim(), source), 'UTC'),
  fsLocks: listOption('fs-locks', {
    section: 'jobs',
    help: 'Lock files on shared volumes to hold while running (jobs with when = lock:PATH run only while it is held).',
  }, 'PATH,...'),
  fsLockTtl: durationOption('fs-lock-ttl', '30s', {
    section: 'jobs',
    help: 'A filesystem lock not refreshed for this long is stale and may be taken over.',
  }),
  backupFutureTolerance: durationOption('backup-future-tolerance', '5m', {
    section: 'jobs',
    help: 'Backup artifacts whose names are dated later than now plus this (clock skew, or files put there by hand) are not counted by retention, never deleted, and named in a warning.',
  }),
  onLockAcquired: textOption('on-lock-acquired', { section: 'jobs', help: 'Command run when a filesystem lock is acquired (STEWARD_LOCK_PATH tells which).' }, 'COMMAND'),
  onLockLost: textOption('on-lock-lost', { section: 'jobs', help: 'Command run when a filesystem lock is lost or released.' }, 'COMMAND'),

  controlSocket: defaultedTextOption('control-socket', 'auto', {
    section: 'operations',
    help: 'Unix socket for steward --health, --status, --reload, --run-job: auto = /run/steward.sock when /run is writable, else $XDG_RUNTIME_DIR/steward.sock; off = none (docs/operations.md).',
  }, 'PATH'),
  statusAddr: addressOption('status-addr', 'Serve /healthz and /status over HTTP here'),
  metricsAddr: addressOption('metrics-addr', 'Serve Prometheus metrics at /metrics here'),

  logLevel: choiceOption('log-level', LOG_LEVELS, 'info', {
    section: 'logging',
    aliases: ['CONFD_LOG_LEVEL'],
    help: "steward's log level.",
  }),
  logFormat: choiceOption('log-format', LOG_FORMATS, 'auto', {
    section: 'logging',
    help: 'Log format: auto = human-readable when stderr is a terminal, JSON otherwise.',
  }),
} as const;

export type OptionKey = keyof typeof OPTIONS;
export type Settings = { readonly [K in OptionKey]: (typeof OPTIONS)[K]['initial'] };

export { formatDuration };
