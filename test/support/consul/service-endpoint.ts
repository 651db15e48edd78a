import { GoDurationError, parseGoDuration } from './duration.ts';
import {
  blockingRead,
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
import type { AgentCheckRecord, AgentServiceRecord, CheckDefinition, ServiceCheckStatus } from './service-catalog.ts';

// ---- service discovery (issue 16) -------------------------------------------------------
// /v1/agent/service/{register,deregister,maintenance}, /v1/agent/check/{pass,warn,fail,update},
// /v1/agent/services, /v1/agent/checks, /v1/health/service/<name> and /v1/catalog/services, as
// Consul's API pages describe them. Only TTL checks are supported (the double runs no script or
// HTTP check). The health and catalog reads are blocking queries with X-Consul-Index.

interface ServiceEndpoint {
  readonly pattern: string;
  readonly methods: readonly string[];
  readonly handle: (ctx: ApiContext, req: ParsedRequest, signal: AbortSignal) => Promise<ApiReply>;
}

const empty = (): ApiReply => ({ status: 200, headers: {}, body: Buffer.alloc(0) });

function unknownService(id: string): HttpFailure {
  return new HttpFailure(404, `Unknown service ID ${JSON.stringify(id)}. Ensure that the service ID is passed, not the service name.`);
}

function unknownCheck(id: string): HttpFailure {
  return new HttpFailure(404, `Unknown check ID ${JSON.stringify(id)}. Ensure that the check ID is passed, not the check name.`);
}

function body(req: ParsedRequest): Record<string, unknown> {
  if (req.body.length === 0) return {};
  try {
    const v = JSON.parse(req.body.toString('utf8')) as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // Below.
  }
  throw new HttpFailure(400, 'Request decode failed: invalid JSON');
}

/** Consul's decoder matches field names without regard to case. */
function field(o: Record<string, unknown>, name: string): unknown {
  const key = Object.keys(o).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : o[key];
}

function text(o: Record<string, unknown>, name: string): string {
  const v = field(o, name);
  return typeof v === 'string' ? v : '';
}

function duration(o: Record<string, unknown>, name: string): number {
  const v = field(o, name);
  if (v === undefined || v === '') return 0;
  if (typeof v === 'number') return v / 1e6;
  try {
    return parseGoDuration(String(v)) / 1e6;
  } catch (error) {
    throw new HttpFailure(400, `Request decode failed: ${name}: ${error instanceof GoDurationError ? error.message : String(error)}`);
  }
}

function checkDefinition(o: Record<string, unknown>, serviceName: string, defaultId: string): CheckDefinition {
  const ttlMs = duration(o, 'TTL');
  if (ttlMs <= 0) throw new HttpFailure(400, 'Invalid check: the Consul double supports TTL checks only');
  const status = text(o, 'Status') || 'critical';
  if (!['passing', 'warning', 'critical'].includes(status)) throw new HttpFailure(400, `Invalid check status: ${JSON.stringify(status)}`);
  const name = text(o, 'Name') || `Service '${serviceName}' check`;
  return {
    CheckID: text(o, 'CheckID') || text(o, 'ID') || defaultId,
    Name: name,
    Status: status as ServiceCheckStatus,
    Notes: text(o, 'Notes'),
    ttlMs,
    deregisterAfterMs: duration(o, 'DeregisterCriticalServiceAfter'),
  };
}

async function register(ctx: ApiContext, req: ParsedRequest): Promise<ApiReply> {
  const b = body(req);
  const name = text(b, 'Name');
  if (name === '') throw new HttpFailure(400, 'Invalid Service: Missing service name');
  requireAllowed(resolveAccess(ctx, tokenOf(req)), 'service', 'write', name);
  const id = text(b, 'ID') || name;
  const port = field(b, 'Port');
  const tags = field(b, 'Tags');
  const meta = field(b, 'Meta');
  const one = field(b, 'Check');
  const many = field(b, 'Checks');
  const checks: CheckDefinition[] = [];
  if (typeof one === 'object' && one !== null) checks.push(checkDefinition(one as Record<string, unknown>, name, `service:${id}`));
  if (Array.isArray(many)) {
    many.forEach((c, i) => checks.push(checkDefinition(c as Record<string, unknown>, name, `service:${id}:${i + 1}`)));
  }
  ctx.catalog.register({
    ID: id,
    Service: name,
    Tags: Array.isArray(tags) ? tags.map(String) : [],
    Address: text(b, 'Address'),
    Port: typeof port === 'number' ? port : 0,
    Meta: typeof meta === 'object' && meta !== null ? (meta as Record<string, string>) : {},
    checks,
  });
  return empty();
}

async function deregister(ctx: ApiContext, req: ParsedRequest): Promise<ApiReply> {
  const service = ctx.catalog.service(req.suffix);
  requireAllowed(resolveAccess(ctx, tokenOf(req)), 'service', 'write', service?.Service ?? req.suffix);
  if (!ctx.catalog.deregister(req.suffix)) throw unknownService(req.suffix);
  return empty();
}

async function maintenance(ctx: ApiContext, req: ParsedRequest): Promise<ApiReply> {
  const enable = req.query.get('enable');
  if (enable === null || enable === '') throw new HttpFailure(400, 'Missing value for enable');
  if (enable !== 'true' && enable !== 'false') throw new HttpFailure(400, `Invalid value for enable: ${JSON.stringify(enable)}`);
  const service = ctx.catalog.service(req.suffix);
  requireAllowed(resolveAccess(ctx, tokenOf(req)), 'service', 'write', service?.Service ?? req.suffix);
  if (!ctx.catalog.maintenance(req.suffix, enable === 'true', req.query.get('reason') ?? '')) throw unknownService(req.suffix);
  return empty();
}

function checkUpdate(status: ServiceCheckStatus | undefined): ServiceEndpoint['handle'] {
  return async (ctx, req) => {
    const check = ctx.catalog.check(req.suffix);
    requireAllowed(resolveAccess(ctx, tokenOf(req)), 'service', 'write', check?.ServiceName ?? req.suffix);
    let next = status;
    let output = req.query.get('note') ?? '';
    if (next === undefined) {
      const b = body(req);
      const given = text(b, 'Status');
      if (!['passing', 'warning', 'critical'].includes(given)) throw new HttpFailure(400, `Invalid check status: ${JSON.stringify(given)}`);
      next = given as ServiceCheckStatus;
      output = text(b, 'Output');
    }
    if (!ctx.catalog.updateTtl(req.suffix, next, output)) throw unknownCheck(req.suffix);
    return empty();
  };
}

function serviceJson(s: AgentServiceRecord): Record<string, unknown> {
  return {
    ID: s.ID, Service: s.Service, Tags: s.Tags, Address: s.Address, Meta: s.Meta, Port: s.Port,
    Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, CreateIndex: s.CreateIndex, ModifyIndex: s.ModifyIndex,
  };
}

function checkJson(ctx: ApiContext, c: AgentCheckRecord, tags: readonly string[]): Record<string, unknown> {
  return {
    Node: ctx.config.nodeName, CheckID: c.CheckID, Name: c.Name, Status: c.Status, Notes: c.Notes, Output: c.Output,
    ServiceID: c.ServiceID, ServiceName: c.ServiceName, ServiceTags: tags, Type: c.ttlMs > 0 ? 'ttl' : '',
    CreateIndex: c.CreateIndex, ModifyIndex: c.ModifyIndex,
  };
}

async function agentServices(ctx: ApiContext, req: ParsedRequest): Promise<ApiReply> {
  requireAllowed(resolveAccess(ctx, tokenOf(req)), 'service', 'read', '');
  const out: Record<string, unknown> = {};
  for (const s of ctx.catalog.services()) out[s.ID] = { ...serviceJson(s), Datacenter: ctx.config.datacenter };
  return json(out, req);
}

async function agentChecks(ctx: ApiContext, req: ParsedRequest): Promise<ApiReply> {
  requireAllowed(resolveAccess(ctx, tokenOf(req)), 'service', 'read', '');
  const out: Record<string, unknown> = {};
  for (const c of ctx.catalog.checks()) out[c.CheckID] = checkJson(ctx, c, ctx.catalog.service(c.ServiceID)?.Tags ?? []);
  return json(out, req);
}

async function healthService(ctx: ApiContext, req: ParsedRequest, signal: AbortSignal): Promise<ApiReply> {
  const opts = parseQueryOptions(ctx, req);
  const name = req.suffix;
  if (name === '') throw new HttpFailure(400, 'Missing service name');
  requireAllowed(resolveAccessForRead(ctx, opts), 'service', 'read', name);
  const passingOnly = req.query.has('passing') && req.query.get('passing') !== 'false';
  const tags = req.query.getAll('tag');
  const [host = '127.0.0.1'] = ctx.config.serverAddress.split(':');
  const spec: QuerySpec<unknown[]> = {
    evaluate: () => ({
      index: ctx.catalog.indexOf(name),
      notFound: false,
      value: ctx.catalog.instances(name)
        .filter((s) => tags.every((t) => s.Tags.includes(t)))
        .map((s) => {
          const checks = ctx.catalog.checksOf(s.ID);
          return { s, checks };
        })
        .filter(({ checks }) => !passingOnly || checks.every((c) => c.Status === 'passing'))
        .map(({ s, checks }) => ({
          Node: {
            ID: ctx.config.nodeId, Node: ctx.config.nodeName, Address: host, Datacenter: ctx.config.datacenter,
            TaggedAddresses: { lan: host, wan: host }, Meta: {}, CreateIndex: 1, ModifyIndex: 1,
          },
          Service: serviceJson(s),
          Checks: [
            {
              Node: ctx.config.nodeName, CheckID: 'serfHealth', Name: 'Serf Health Status', Status: 'passing', Notes: '',
              Output: 'Agent alive and reachable', ServiceID: '', ServiceName: '', ServiceTags: [], Type: '', CreateIndex: 1, ModifyIndex: 1,
            },
            ...checks.map((c) => checkJson(ctx, c, s.Tags)),
          ],
        })),
    }),
    watches: (change) => change.services?.has(name) === true,
  };
  const result = await blockingRead(ctx, opts, spec, signal);
  return json(result.value, req, metaHeaders(ctx, result.index, opts));
}

async function catalogServices(ctx: ApiContext, req: ParsedRequest, signal: AbortSignal): Promise<ApiReply> {
  const opts = parseQueryOptions(ctx, req);
  requireAllowed(resolveAccessForRead(ctx, opts), 'service', 'read', '');
  const spec: QuerySpec<Record<string, string[]>> = {
    evaluate: () => {
      const out: Record<string, string[]> = {};
      for (const s of ctx.catalog.services()) out[s.Service] = [...new Set([...(out[s.Service] ?? []), ...s.Tags])];
      return { index: ctx.catalog.catalogIndex, notFound: false, value: out };
    },
    watches: (change) => change.services !== undefined,
  };
  const result = await blockingRead(ctx, opts, spec, signal);
  return json(result.value, req, metaHeaders(ctx, result.index, opts));
}

export const SERVICE_ENDPOINTS: readonly ServiceEndpoint[] = [
  { pattern: '/v1/agent/service/register', methods: ['PUT'], handle: register },
  { pattern: '/v1/agent/service/deregister/', methods: ['PUT'], handle: deregister },
  { pattern: '/v1/agent/service/maintenance/', methods: ['PUT'], handle: maintenance },
  { pattern: '/v1/agent/check/pass/', methods: ['PUT'], handle: checkUpdate('passing') },
  { pattern: '/v1/agent/check/warn/', methods: ['PUT'], handle: checkUpdate('warning') },
  { pattern: '/v1/agent/check/fail/', methods: ['PUT'], handle: checkUpdate('critical') },
  { pattern: '/v1/agent/check/update/', methods: ['PUT'], handle: checkUpdate(undefined) },
  { pattern: '/v1/agent/services', methods: ['GET'], handle: agentServices },
  { pattern: '/v1/agent/checks', methods: ['GET'], handle: agentChecks },
  { pattern: '/v1/health/service/', methods: ['GET'], handle: healthService },
  { pattern: '/v1/catalog/services', methods: ['GET'], handle: catalogServices },
];
