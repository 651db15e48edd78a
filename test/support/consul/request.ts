import type { IncomingHttpHeaders } from 'node:http';
import type { BlockingQueries, QueryResult, QuerySpec } from './blocking.ts';
import { parseGoDuration, parseGoUint64 } from './duration.ts';
import { goJson } from './json.ts';
import type { ConsulStore } from './store.ts';
import type { ServiceCatalog } from './service-catalog.ts';

// What every endpoint of the double shares: request and reply shapes, Consul's common query
// parameters (HTTPHandlers.parse in agent/http.go), token resolution and ACL denials, RPC
// forwarding errors, and the headers that carry a blocking query's metadata.

export interface ApiRequest {
  readonly method: string;
  /** Decoded path, as Go's req.URL.Path. */
  readonly path: string;
  readonly rawQuery: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface ApiReply {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface ApiConfig {
  readonly datacenter: string;
  readonly nodeName: string;
  readonly nodeId: string;
  /** When set, ACLs are on with default deny and this is the only (management) token. */
  readonly aclToken: string | undefined;
  readonly sessionTtlMinNs: number;
  readonly kvMaxValueSize: number;
  readonly serverAddress: string;
  readonly version: string;
}

export interface ApiContext {
  readonly config: ApiConfig;
  readonly store: ConsulStore;
  readonly blocking: BlockingQueries;
  /** Agent services and checks (service-catalog.ts). */
  readonly catalog: ServiceCatalog;
  hasLeader(): boolean;
}

export interface ParsedRequest extends ApiRequest {
  readonly query: URLSearchParams;
  /** The rest of the path after a subtree pattern such as /v1/kv/. */
  readonly suffix: string;
}

export interface QueryOptions {
  dc: string;
  token: string;
  consistency: 'leader' | 'stale' | 'consistent';
  minIndex: number;
  waitMs: number | undefined;
}

export type Access = 'management' | 'anonymous';

const ANONYMOUS_HINT = '. The anonymous token is used implicitly when a request does not specify a token.';

/** An answer other than success; `body` is written as plain text, as Consul does. */
export class HttpFailure extends Error {
  status: number;
  headers: Record<string, string>;
  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.headers = headers;
  }
}

export function text(status: number, message: string, headers: Record<string, string> = {}): ApiReply {
  const body = Buffer.from(message);
  return {
    status,
    headers: body.length > 0 ? { 'Content-Type': 'text/plain; charset=utf-8', ...headers } : headers,
    body,
  };
}

export function json(value: unknown, req: ParsedRequest, headers: Record<string, string> = {}): ApiReply {
  return {
    status: 200,
    headers: { 'Content-Type': 'application/json', ...headers },
    body: Buffer.from(goJson(value, req.query.has('pretty'))),
  };
}

export function metaHeaders(ctx: ApiContext, index: number, opts: QueryOptions): Record<string, string> {
  const leader = ctx.hasLeader();
  return {
    // Consul never sends 0: clients would spin, as ?index=0 does not block.
    'X-Consul-Index': String(index === 0 ? 1 : index),
    'X-Consul-Knownleader': leader ? 'true' : 'false',
    'X-Consul-Lastcontact': '0',
    'X-Consul-Effective-Consistency': opts.consistency,
    'X-Consul-Query-Backend': 'blocking-query',
  };
}

/** HTTPHandlers.parse: dc, token, consistency flags, then ?wait and ?index. */
export function parseQueryOptions(ctx: ApiContext, req: ParsedRequest): QueryOptions {
  const q = req.query;
  const stale = q.has('stale');
  const consistent = q.has('consistent');
  if (stale && consistent) {
    throw new HttpFailure(400, 'Cannot specify ?stale with ?consistent, conflicting semantics.');
  }
  if (q.has('cached') && consistent) {
    throw new HttpFailure(400, 'Cannot specify ?cached with ?consistent, conflicting semantics.');
  }
  let waitMs: number | undefined;
  const wait = q.get('wait') ?? '';
  if (wait !== '') {
    try {
      waitMs = parseGoDuration(wait) / 1e6;
    } catch {
      throw new HttpFailure(400, 'Invalid wait time');
    }
  }
  let minIndex = 0;
  const index = q.get('index') ?? '';
  if (index !== '') {
    const parsed = parseGoUint64(index);
    if (!('value' in parsed)) throw new HttpFailure(400, 'Invalid index');
    minIndex = Number(parsed.value);
  }
  return {
    dc: q.get('dc') || ctx.config.datacenter,
    token: tokenOf(req),
    consistency: stale ? 'stale' : consistent ? 'consistent' : 'leader',
    minIndex,
    waitMs,
  };
}

/** ?token=, then X-Consul-Token, then "Authorization: Bearer <token>". */
export function tokenOf(req: ParsedRequest): string {
  const fromQuery = req.query.get('token') ?? '';
  if (fromQuery !== '') return fromQuery;
  const header = req.headers['x-consul-token'];
  const fromHeader = Array.isArray(header) ? (header[0] ?? '') : (header ?? '');
  if (fromHeader !== '') return fromHeader;
  const authorization = req.headers.authorization ?? '';
  const parts = authorization.split(' ');
  if (parts.length > 1 && parts[0]?.toLowerCase() === 'bearer') {
    return parts.slice(1).join(' ').trim().split(' ')[0]?.trim() ?? '';
  }
  return '';
}

/** ResolveToken: an unknown secret is "ACL not found" (403); no token is the anonymous token. */
export function resolveAccess(ctx: ApiContext, token: string): Access {
  if (ctx.config.aclToken === undefined) return 'management';
  if (token === '') return 'anonymous';
  if (token === ctx.config.aclToken) return 'management';
  throw new HttpFailure(403, 'ACL not found');
}

export function requireAllowed(access: Access, resource: string, level: 'read' | 'write', name: string): void {
  if (access === 'management') return;
  throw new HttpFailure(
    403,
    `Permission denied: anonymous token lacks permission '${resource}:${level}' on ${JSON.stringify(name)}${ANONYMOUS_HINT}`,
  );
}

/** ForwardRPC: another datacenter is unreachable from a lone server; most RPCs need a leader. */
export function forward(ctx: ApiContext, dc: string, needsLeader: boolean): void {
  if (dc !== ctx.config.datacenter) throw new HttpFailure(500, 'No path to datacenter');
  if (needsLeader && !ctx.hasLeader()) throw new HttpFailure(500, 'No cluster leader');
}

export async function blockingRead<T>(
  ctx: ApiContext,
  opts: QueryOptions,
  spec: QuerySpec<T>,
  signal: AbortSignal,
): Promise<QueryResult<T>> {
  forward(ctx, opts.dc, opts.consistency !== 'stale');
  return ctx.blocking.run(spec, opts.minIndex, opts.waitMs, signal);
}


export function resolveAccessForRead(ctx: ApiContext, opts: QueryOptions): Access {
  // The RPC is forwarded before the token is resolved; keep that order for error answers.
  forward(ctx, opts.dc, opts.consistency !== 'stale');
  return resolveAccess(ctx, opts.token);
}
