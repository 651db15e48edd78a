import { parseGoUint64 } from './duration.ts';
import { kvEntryJson } from './json.ts';
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
  type ApiContext,
  type ApiReply,
  type ParsedRequest,
  type QueryOptions,
} from './request.ts';
import { ApplyError, type KvEntry } from './store.ts';

// /v1/kv/: agent/kvs_endpoint.go for parameters and answers, agent/consul/kvs_endpoint.go for
// what each read returns as its index and how ACLs filter or refuse.

export async function kvEndpoint(ctx: ApiContext, req: ParsedRequest, signal: AbortSignal): Promise<ApiReply> {
  const opts = parseQueryOptions(ctx, req);
  const key = req.suffix;
  if (req.method === 'GET') {
    if (req.query.has('keys')) return kvKeys(ctx, req, opts, key, signal);
    if (req.query.has('recurse')) return kvList(ctx, req, opts, key, signal);
    if (key === '') throw new HttpFailure(400, 'Missing key name');
    return kvGet(ctx, req, opts, key, signal);
  }
  if (req.method === 'PUT') return kvPut(ctx, req, opts, key);
  return kvDelete(ctx, req, opts, key);
}

async function kvGet(
  ctx: ApiContext,
  req: ParsedRequest,
  opts: QueryOptions,
  key: string,
  signal: AbortSignal,
): Promise<ApiReply> {
  const access = resolveAccessForRead(ctx, opts);
  const result = await blockingRead<KvEntry | undefined>(
    ctx,
    opts,
    {
      evaluate: () => {
        const entry = ctx.store.kvGet(key);
        requireAllowed(access, 'key', 'read', key);
        if (entry === undefined) return { index: ctx.store.kvsMaxIndex(), notFound: true, value: undefined };
        return { index: entry.modifyIndex, notFound: false, value: entry };
      },
      watches: (change) => change.keys.has(key),
    },
    signal,
  );
  const meta = metaHeaders(ctx, result.index, opts);
  if (result.value === undefined) return { status: 404, headers: meta, body: Buffer.alloc(0) };
  if (req.query.has('raw')) {
    return {
      status: 200,
      headers: {
        ...meta,
        'Content-Type': 'text/plain',
        'X-Content-Type-Options': 'nosniff',
        'Content-Security-Policy': 'sandbox',
      },
      body: result.value.value,
    };
  }
  return json([kvEntryJson(result.value)], req, meta);
}

async function kvList(
  ctx: ApiContext,
  req: ParsedRequest,
  opts: QueryOptions,
  prefix: string,
  signal: AbortSignal,
): Promise<ApiReply> {
  const access = resolveAccessForRead(ctx, opts);
  const result = await blockingRead<KvEntry[]>(
    ctx,
    opts,
    {
      evaluate: () => {
        const { index, entries } = ctx.store.kvList(prefix);
        // Reads are filtered rather than refused: the anonymous token sees nothing.
        const visible = access === 'management' ? entries : [];
        return { index: visible.length === 0 && index === 0 ? 1 : index, notFound: false, value: visible };
      },
      watches: (change) => [...change.keys].some((k) => k.startsWith(prefix)),
    },
    signal,
  );
  const meta = metaHeaders(ctx, result.index, opts);
  if (result.value.length === 0) return { status: 404, headers: meta, body: Buffer.alloc(0) };
  return json(result.value.map(kvEntryJson), req, meta);
}

async function kvKeys(
  ctx: ApiContext,
  req: ParsedRequest,
  opts: QueryOptions,
  prefix: string,
  signal: AbortSignal,
): Promise<ApiReply> {
  // The misspelt "seperator" is still accepted; "separator" wins when both are given.
  const separator = req.query.get('separator') ?? req.query.get('seperator') ?? '';
  const access = resolveAccessForRead(ctx, opts);
  const result = await blockingRead<string[]>(
    ctx,
    opts,
    {
      evaluate: () => {
        const { index, entries } = ctx.store.kvList(prefix);
        const visible = access === 'management' ? entries : [];
        const keys: string[] = [];
        const seen = new Set<string>();
        for (const entry of visible) {
          const at = separator === '' ? -1 : entry.key.indexOf(separator, prefix.length);
          const listed = at === -1 ? entry.key : entry.key.slice(0, at + separator.length);
          if (at !== -1 && seen.has(listed)) continue;
          seen.add(listed);
          keys.push(listed);
        }
        return { index: index === 0 ? 1 : index, notFound: false, value: keys };
      },
      watches: (change) => [...change.keys].some((k) => k.startsWith(prefix)),
    },
    signal,
  );
  const meta = metaHeaders(ctx, result.index, opts);
  if (result.value.length === 0 && prefix !== '') return { status: 404, headers: meta, body: Buffer.alloc(0) };
  return json(result.value, req, meta);
}

function conflictingFlags(req: ParsedRequest, flags: readonly string[]): void {
  if (flags.filter((flag) => req.query.has(flag)).length > 1) {
    throw new HttpFailure(400, `Conflicting flags: ${encodeGoQuery(req.query)}\n`);
  }
}

function uintParam(req: ParsedRequest, name: string): bigint | undefined {
  if (!req.query.has(name)) return undefined;
  const parsed = parseGoUint64(req.query.get(name) ?? '');
  if ('error' in parsed) throw new HttpFailure(500, parsed.error);
  return parsed.value;
}

function kvWrite(ctx: ApiContext, opts: QueryOptions, key: string): void {
  forward(ctx, opts.dc, true);
  const access = resolveAccess(ctx, opts.token);
  requireAllowed(access, 'key', 'write', key);
}

function applied(run: () => boolean): boolean {
  try {
    return run();
  } catch (error) {
    if (error instanceof ApplyError) throw new HttpFailure(500, `raft apply failed: ${error.message}`);
    throw error;
  }
}

async function kvPut(ctx: ApiContext, req: ParsedRequest, opts: QueryOptions, key: string): Promise<ApiReply> {
  if (key === '') throw new HttpFailure(400, 'Missing key name');
  conflictingFlags(req, ['cas', 'acquire', 'release']);
  const flags = uintParam(req, 'flags') ?? 0n;
  const cas = uintParam(req, 'cas');
  const declaredLength = Number(req.headers['content-length'] ?? -1);
  if (declaredLength > ctx.config.kvMaxValueSize) {
    throw new HttpFailure(
      413,
      `Request body(${declaredLength} bytes) too large, max size: ${ctx.config.kvMaxValueSize} bytes. ` +
        'See https://developer.hashicorp.com/docs/agent/config/config-files#kv_max_value_size.',
    );
  }
  kvWrite(ctx, opts, key);
  const value = req.body;
  const store = ctx.store;
  let result: boolean;
  if (req.query.has('acquire')) {
    const session = req.query.get('acquire') ?? '';
    result = applied(() => store.kvLock(key, value, flags, session));
  } else if (req.query.has('release')) {
    const session = req.query.get('release') ?? '';
    result = applied(() => store.kvUnlock(key, value, flags, session));
  } else if (cas !== undefined) {
    result = applied(() => store.kvCas(key, value, flags, cas));
  } else {
    result = applied(() => store.kvSet(key, value, flags));
  }
  return json(result, req);
}

async function kvDelete(ctx: ApiContext, req: ParsedRequest, opts: QueryOptions, key: string): Promise<ApiReply> {
  conflictingFlags(req, ['recurse', 'cas']);
  const recurse = req.query.has('recurse');
  if (!recurse && key === '') throw new HttpFailure(400, 'Missing key name');
  const cas = uintParam(req, 'cas');
  kvWrite(ctx, opts, key);
  const store = ctx.store;
  let result: boolean;
  if (recurse) result = applied(() => store.kvDeleteTree(key));
  else if (cas !== undefined) result = applied(() => store.kvDeleteCas(key, cas));
  else result = applied(() => store.kvDelete(key));
  return json(result, req);
}

/** url.Values.Encode: keys sorted, values escaped with QueryEscape. */
function encodeGoQuery(query: URLSearchParams): string {
  const keys = [...new Set(query.keys())].sort();
  const escape = (s: string): string =>
    encodeURIComponent(s)
      .replace(/%20/g, '+')
      .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return keys.flatMap((k) => query.getAll(k).map((v) => `${escape(k)}=${escape(v)}`)).join('&');
}

