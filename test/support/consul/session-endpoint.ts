import { formatGoDuration, GoDurationError, parseGoDuration } from './duration.ts';
import { sessionJson } from './json.ts';
import {
  blockingRead,
  forward,
  HttpFailure,
  json,
  metaHeaders,
  parseQueryOptions,
  requireAllowed,
  resolveAccess,
  resolveAccessForRead,
  tokenOf,
  type ApiContext,
  type ApiReply,
  type ParsedRequest,
} from './request.ts';
import type { QuerySpec } from './blocking.ts';
import { ApplyError, SERF_CHECK_ID, type ServiceCheckRef, type SessionRecord, type SessionSpec } from './store.ts';

// /v1/session/: agent/session_endpoint.go (body decoding, Checks fix-ups, 404 on renew) and
// agent/consul/session_endpoint.go (validation order, TTL bounds, error texts).

const SESSION_TTL_MAX_NS = 24 * 3600e9;
const LOCK_DELAY_MIN_THRESHOLD_NS = 1000;

interface SessionBody {
  Name?: unknown;
  Node?: unknown;
  LockDelay?: unknown;
  Behavior?: unknown;
  TTL?: unknown;
  NodeChecks?: unknown;
  ServiceChecks?: unknown;
  Checks?: unknown;
}

const SESSION_FIELDS = ['Name', 'Node', 'LockDelay', 'Behavior', 'TTL', 'NodeChecks', 'ServiceChecks', 'Checks'] as const;

export async function sessionCreate(ctx: ApiContext, req: ParsedRequest): Promise<ApiReply> {
  const dc = req.query.get('dc') || ctx.config.datacenter;
  const token = tokenOf(req);
  const spec: SessionSpec = {
    name: '',
    node: ctx.config.nodeName,
    lockDelayNs: 15e9,
    behavior: 'release',
    ttl: '',
    nodeChecks: [SERF_CHECK_ID],
    serviceChecks: null,
    checks: [SERF_CHECK_ID],
  };
  let behavior = 'release';
  // Consul decodes the body only when Content-Length is positive; a chunked body is ignored.
  if (Number(req.headers['content-length'] ?? 0) > 0) behavior = decodeSessionBody(req.body, spec) ?? behavior;
  fixupEmptySessionChecks(spec);
  forward(ctx, dc, true);
  if (spec.node === '') throw new HttpFailure(500, 'Must provide Node');
  const access = resolveAccess(ctx, token);
  requireAllowed(access, 'session', 'write', spec.node);
  if (behavior === '') behavior = 'release';
  if (behavior !== 'release' && behavior !== 'delete') {
    throw new HttpFailure(500, `Invalid Behavior setting '${behavior}'`);
  }
  spec.behavior = behavior;
  if (spec.ttl !== '') {
    let ttlNs: number;
    try {
      ttlNs = parseGoDuration(spec.ttl);
    } catch (error) {
      throw new HttpFailure(500, `Session TTL '${spec.ttl}' invalid: ${(error as Error).message}`);
    }
    if (ttlNs !== 0 && (ttlNs < ctx.config.sessionTtlMinNs || ttlNs > SESSION_TTL_MAX_NS)) {
      throw new HttpFailure(
        500,
        `Invalid Session TTL '${ttlNs}', must be between ` +
          `[${formatGoDuration(ctx.config.sessionTtlMinNs)}=${formatGoDuration(SESSION_TTL_MAX_NS)}]`,
      );
    }
  }
  let record: SessionRecord;
  try {
    record = ctx.store.sessionCreate(spec);
  } catch (error) {
    if (error instanceof ApplyError) throw new HttpFailure(500, `apply failed: ${error.message}`);
    throw error;
  }
  return json({ ID: record.id }, req);
}

/** Decodes the create body into spec (Go's case-insensitive field matching); returns Behavior. */
function decodeSessionBody(body: Buffer, spec: SessionSpec): string | undefined {
  const fail = (message: string): never => {
    throw new HttpFailure(400, `Request decode failed: ${message}`);
  };
  let raw: unknown;
  const source = body.toString('utf8');
  try {
    raw = JSON.parse(source);
  } catch {
    const trimmed = source.trim();
    if (trimmed === '' || /^[[{"]/.test(trimmed)) fail('unexpected EOF');
    fail(`invalid character '${trimmed[0]}' looking for beginning of value`);
  }
  if (raw === null) return undefined;
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    fail(`json: cannot unmarshal ${Array.isArray(raw) ? 'array' : typeof raw} into Go value of type structs.Alias`);
  }
  const input: SessionBody = {};
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    const field = SESSION_FIELDS.find((f) => f.toLowerCase() === name.toLowerCase());
    if (field !== undefined) input[field] = value;
  }
  const typeError = (field: string, value: unknown, goType: string): never =>
    fail(`json: cannot unmarshal ${Array.isArray(value) ? 'array' : typeof value} into Go struct field .${field} of type ${goType}`);
  const stringField = (field: 'Name' | 'Node' | 'TTL' | 'Behavior'): string | undefined => {
    const value = input[field];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') typeError(field, value, field === 'Behavior' ? 'structs.SessionBehavior' : 'string');
    return value as string;
  };
  const listField = (field: 'NodeChecks' | 'Checks'): string[] | null | undefined => {
    const value = input[field];
    if (value === undefined) return undefined;
    if (value === null) return null;
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
      typeError(field, value, field === 'Checks' ? '[]types.CheckID' : '[]string');
    }
    return value as string[];
  };
  spec.name = stringField('Name') ?? spec.name;
  spec.node = stringField('Node') ?? spec.node;
  spec.ttl = stringField('TTL') ?? spec.ttl;
  const nodeChecks = listField('NodeChecks');
  if (nodeChecks !== undefined) spec.nodeChecks = nodeChecks;
  const checks = listField('Checks');
  if (checks !== undefined) spec.checks = checks;
  if (input.ServiceChecks !== undefined) {
    const value = input.ServiceChecks;
    if (value === null) spec.serviceChecks = null;
    else if (Array.isArray(value) && value.every((v) => typeof v === 'object' && v !== null)) {
      spec.serviceChecks = value.map((v: Record<string, unknown>): ServiceCheckRef => ({
        ID: String(v['ID'] ?? v['id'] ?? ''),
        Namespace: String(v['Namespace'] ?? v['namespace'] ?? ''),
      }));
    } else typeError('ServiceChecks', value, '[]structs.ServiceCheck');
  }
  const lockDelay = input.LockDelay;
  if (lockDelay !== undefined && lockDelay !== null) {
    let ns = 0;
    if (typeof lockDelay === 'string') {
      try {
        ns = parseGoDuration(lockDelay);
      } catch (error) {
        fail(error instanceof GoDurationError ? error.message : String(error));
      }
    } else if (typeof lockDelay === 'number') {
      ns = Math.trunc(lockDelay);
    }
    // Small numbers are taken as seconds: users send 15 meaning 15s, not 15ns.
    spec.lockDelayNs = ns < LOCK_DELAY_MIN_THRESHOLD_NS ? ns * 1e9 : ns;
  }
  return stringField('Behavior');
}

/** Backwards compatibility for the deprecated Checks field (agent/session_endpoint.go). */
function fixupEmptySessionChecks(spec: SessionSpec): void {
  if (spec.checks === null || spec.checks.length === 0) {
    spec.nodeChecks = [];
    spec.checks = null;
    return;
  }
  if (spec.checks.length === 1 && spec.checks[0] === SERF_CHECK_ID) {
    spec.checks = null;
    return;
  }
  if (spec.nodeChecks === null || spec.nodeChecks.length === 0) spec.checks = null;
}

export async function sessionDestroy(ctx: ApiContext, req: ParsedRequest): Promise<ApiReply> {
  const id = req.suffix;
  if (id === '') throw new HttpFailure(400, 'Missing session');
  forward(ctx, req.query.get('dc') || ctx.config.datacenter, true);
  const access = resolveAccess(ctx, tokenOf(req));
  const existing = ctx.store.session(id);
  // Destroying an unknown or expired session is not an error.
  if (existing !== undefined) {
    requireAllowed(access, 'session', 'write', existing.node);
    ctx.store.sessionDestroy(id, 'destroy');
  }
  return json(true, req);
}

export async function sessionRenew(ctx: ApiContext, req: ParsedRequest): Promise<ApiReply> {
  const opts = parseQueryOptions(ctx, req);
  const id = req.suffix;
  if (id === '') throw new HttpFailure(400, 'Missing session');
  forward(ctx, opts.dc, true);
  const access = resolveAccess(ctx, opts.token);
  const existing = ctx.store.session(id);
  if (existing === undefined) throw new HttpFailure(404, `Session id '${id}' not found`);
  requireAllowed(access, 'session', 'write', existing.node);
  const renewed = ctx.store.sessionRenew(id);
  if (renewed === undefined) throw new HttpFailure(404, `Session id '${id}' not found`);
  return json([sessionJson(renewed)], req);
}

async function sessionRead(
  ctx: ApiContext,
  req: ParsedRequest,
  signal: AbortSignal,
  select: () => { sessions: SessionRecord[]; notFound: boolean },
  watches: QuerySpec<SessionRecord[]>['watches'],
): Promise<ApiReply> {
  const opts = parseQueryOptions(ctx, req);
  const access = resolveAccessForRead(ctx, opts);
  const result = await blockingRead<SessionRecord[]>(
    ctx,
    opts,
    {
      evaluate: () => {
        const { sessions, notFound } = select();
        // session:read is filtered, never refused.
        return { index: ctx.store.sessionsIndex, notFound, value: access === 'management' ? sessions : [] };
      },
      watches,
    },
    signal,
  );
  return json(result.value.map(sessionJson), req, metaHeaders(ctx, result.index, opts));
}

export async function sessionInfo(ctx: ApiContext, req: ParsedRequest, signal: AbortSignal): Promise<ApiReply> {
  const id = req.suffix;
  if (id === '') {
    parseQueryOptions(ctx, req);
    throw new HttpFailure(400, 'Missing session');
  }
  return sessionRead(
    ctx,
    req,
    signal,
    () => {
      const session = ctx.store.session(id);
      return { sessions: session === undefined ? [] : [session], notFound: session === undefined };
    },
    (change) => change.sessions.has(id),
  );
}

export async function sessionList(ctx: ApiContext, req: ParsedRequest, signal: AbortSignal): Promise<ApiReply> {
  return sessionRead(
    ctx,
    req,
    signal,
    () => ({ sessions: ctx.store.sessionList(), notFound: false }),
    (change) => change.sessions.size > 0,
  );
}

export async function sessionsForNode(ctx: ApiContext, req: ParsedRequest, signal: AbortSignal): Promise<ApiReply> {
  const node = req.suffix;
  if (node === '') {
    parseQueryOptions(ctx, req);
    throw new HttpFailure(400, 'Missing node name');
  }
  return sessionRead(
    ctx,
    req,
    signal,
    () => ({ sessions: ctx.store.sessionList().filter((s) => s.node === node), notFound: false }),
    (change) => change.nodes.has(node),
  );
}

