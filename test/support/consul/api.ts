import { kvEndpoint } from './kv-endpoint.ts';
import {
  forward,
  HttpFailure,
  json,
  requireAllowed,
  resolveAccess,
  text,
  tokenOf,
  type ApiContext,
  type ApiReply,
  type ApiRequest,
  type ParsedRequest,
} from './request.ts';
import { SERVICE_ENDPOINTS } from './service-endpoint.ts';
import { sessionCreate, sessionDestroy, sessionInfo, sessionList, sessionRenew, sessionsForNode } from './session-endpoint.ts';

export type { ApiConfig, ApiContext, ApiReply, ApiRequest } from './request.ts';

// Routing as Go's ServeMux and Consul's wrap() do it (agent/http.go, http_register.go):
// path cleaning and subtree redirects, the "Invalid URL path" 404s, OPTIONS and 405 with an
// Allow header, common headers, and plain-text error bodies.

interface Endpoint {
  readonly pattern: string;
  readonly methods: readonly string[];
  readonly handle: (ctx: ApiContext, req: ParsedRequest, signal: AbortSignal) => Promise<ApiReply>;
}

const ENDPOINTS: readonly Endpoint[] = [
  { pattern: '/v1/kv/', methods: ['GET', 'PUT', 'DELETE'], handle: kvEndpoint },
  { pattern: '/v1/session/create', methods: ['PUT'], handle: sessionCreate },
  { pattern: '/v1/session/destroy/', methods: ['PUT'], handle: sessionDestroy },
  { pattern: '/v1/session/renew/', methods: ['PUT'], handle: sessionRenew },
  { pattern: '/v1/session/info/', methods: ['GET'], handle: sessionInfo },
  { pattern: '/v1/session/node/', methods: ['GET'], handle: sessionsForNode },
  { pattern: '/v1/session/list', methods: ['GET'], handle: sessionList },
  { pattern: '/v1/status/leader', methods: ['GET'], handle: statusLeader },
  { pattern: '/v1/status/peers', methods: ['GET'], handle: statusPeers },
  { pattern: '/v1/agent/self', methods: ['GET'], handle: agentSelf },
  // Service discovery (issue 16): service-endpoint.ts.
  ...SERVICE_ENDPOINTS,
];

// ---- entry point -----------------------------------------------------------------------

export async function handleApi(ctx: ApiContext, req: ApiRequest, signal: AbortSignal): Promise<ApiReply> {
  const cleaned = cleanPath(req.path);
  if (cleaned !== req.path) return redirect(cleaned, req.rawQuery);
  if (req.path === '/') {
    return text(200, 'Consul Agent: UI disabled. To enable, set ui_config.enabled=true in the agent configuration and restart.');
  }
  const endpoint = matchEndpoint(req.path);
  if (endpoint === undefined) {
    const subtree = ENDPOINTS.find((e) => e.pattern.endsWith('/') && e.pattern === `${req.path}/`);
    if (subtree !== undefined) return redirect(subtree.pattern, req.rawQuery);
    return text(
      404,
      req.path.includes('/v1/')
        ? 'Invalid URL path: not a recognized HTTP API endpoint\n'
        : "Invalid URL path: if attempting to use the HTTP API, ensure the path starts with '/v1/'\n",
    );
  }

  const common: Record<string, string> = {
    'Vary': 'Accept-Encoding',
    'X-Consul-Default-Acl-Policy': ctx.config.aclToken === undefined ? 'allow' : 'deny',
  };
  const query = parseGoQuery(req.rawQuery);
  if (query === undefined) return withHeaders({ status: 500, headers: {}, body: Buffer.alloc(0) }, common);
  const allow = ['OPTIONS', ...endpoint.methods].join(',');
  if (req.method === 'OPTIONS') {
    return withHeaders({ status: 200, headers: { Allow: allow }, body: Buffer.alloc(0) }, common);
  }
  try {
    if (!endpoint.methods.includes(req.method)) {
      throw new HttpFailure(405, `method ${req.method} not allowed`, { Allow: allow });
    }
    const parsed: ParsedRequest = { ...req, query, suffix: req.path.slice(endpoint.pattern.length) };
    return withHeaders(await endpoint.handle(ctx, parsed, signal), common);
  } catch (error) {
    if (error instanceof HttpFailure) {
      return withHeaders(text(error.status, error.message, error.headers), common);
    }
    if (signal.aborted) throw error;
    return withHeaders(text(500, error instanceof Error ? error.message : String(error)), common);
  }
}

function matchEndpoint(path: string): Endpoint | undefined {
  let best: Endpoint | undefined;
  for (const endpoint of ENDPOINTS) {
    const matches = endpoint.pattern.endsWith('/') ? path.startsWith(endpoint.pattern) : path === endpoint.pattern;
    if (matches && (best === undefined || endpoint.pattern.length > best.pattern.length)) best = endpoint;
  }
  return best;
}

/** Go's ServeMux redirects to the cleaned path (no "//", "/./" or "/../"), keeping a trailing slash. */
function cleanPath(path: string): string {
  if (path === '') return '/';
  const parts: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') parts.pop();
    else parts.push(segment);
  }
  let cleaned = `/${parts.join('/')}`;
  if (path.endsWith('/') && cleaned !== '/') cleaned += '/';
  return cleaned;
}

/** url.ParseQuery: '+' is a space; a bad escape or a ';' is an error (Consul answers 500). */
function parseGoQuery(raw: string): URLSearchParams | undefined {
  if (raw.includes(';')) return undefined;
  for (const part of raw.split('&')) {
    if (/%(?![0-9a-fA-F]{2})/.test(part)) return undefined;
  }
  return new URLSearchParams(raw);
}


function redirect(location: string, rawQuery: string): ApiReply {
  const target = rawQuery === '' ? location : `${location}?${rawQuery}`;
  return text(301, `<a href="${target}">Moved Permanently</a>.\n\n`, {
    'Location': target,
    'Content-Type': 'text/html; charset=utf-8',
  });
}

function withHeaders(reply: ApiReply, headers: Record<string, string>): ApiReply {
  return { ...reply, headers: { ...headers, ...reply.headers } };
}

// ---- /v1/status/ and /v1/agent/self ------------------------------------------------------

async function statusLeader(ctx: ApiContext, req: ParsedRequest): Promise<ApiReply> {
  forward(ctx, req.query.get('dc') || ctx.config.datacenter, false);
  return json(ctx.hasLeader() ? ctx.config.serverAddress : '', req);
}

async function statusPeers(ctx: ApiContext, req: ParsedRequest): Promise<ApiReply> {
  forward(ctx, req.query.get('dc') || ctx.config.datacenter, false);
  return json([ctx.config.serverAddress], req);
}

async function agentSelf(ctx: ApiContext, req: ParsedRequest): Promise<ApiReply> {
  const access = resolveAccess(ctx, tokenOf(req));
  requireAllowed(access, 'agent', 'read', ctx.config.nodeName);
  const [host = '127.0.0.1'] = ctx.config.serverAddress.split(':');
  return json(
    {
      Config: {
        Datacenter: ctx.config.datacenter,
        PrimaryDatacenter: ctx.config.datacenter,
        NodeName: ctx.config.nodeName,
        NodeID: ctx.config.nodeId,
        Revision: 'consul-double',
        Server: true,
        Version: ctx.config.version,
        BuildDate: '2025-01-01T00:00:00Z',
      },
      Coord: null,
      Member: {
        Name: ctx.config.nodeName,
        Addr: host,
        Port: 8301,
        Tags: { dc: ctx.config.datacenter, role: 'consul', id: ctx.config.nodeId },
        Status: 1,
      },
      Stats: {},
      Meta: {},
    },
    req,
  );
}

