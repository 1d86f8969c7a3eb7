/**
 * The HTTP API of a node (node:http, no framework).
 *
 *   GET|HEAD /v1/groups/{group}/keys/{key}   raw bytes (200), 404 when the key does not exist
 *   PUT      /v1/groups/{group}/keys/{key}   raw bytes in; TTL from X-Arenacache-Ttl or ?ttl= (204)
 *   DELETE   /v1/groups/{group}/keys/{key}   204 when it existed, 404 when it did not
 *   POST     /v1/groups/{group}/get-many     JSON {"keys":[…]} or a length-prefixed binary batch
 *   GET      /v1/groups/{group}/keys         paged key listing (key-listing.ts), admin token
 *   POST     /v1/groups/{group}/set-many     JSON {"items":[{key, value, ttl?}…]} (set-many.ts), write token
 *   POST     /v1/groups/{group}/flush        drop the group on every node, write token
 *   GET      /v1/stats  /v1/members  /metrics  /healthz  /readyz
 *
 * Errors are JSON `{ "error": code, "message": text }`. See docs/node.md for the reference.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Cluster } from '../cluster/cluster.js';
import type { Group } from '../cluster/group.js';
import { ClientAbortedError, HttpError, MAX_BATCH_KEYS, readBody, send, sendJson, toHttpError } from './http-io.js';
import { KeyListings } from './key-listing.js';
import { setMany } from './set-many.js';
import { GROUP_NAME_RE } from '../cluster/validate.js';
import { parseDuration } from './config/index.js';
import type { Logger } from './logger.js';
import type { NodeMetrics } from './metrics.js';

export const TTL_HEADER = 'x-arenacache-ttl';
export const SOURCE_HEADER = 'x-arenacache-source';
/** Taken from the request when it is 1..128 visible ASCII characters, else generated; echoed in the response. */
export const REQUEST_ID_HEADER = 'x-request-id';
/** Keys longer than this are cut in log lines. */
export const LOG_KEY_CHARS = 64;

const REQUEST_ID_RE = /^[\x21-\x7e]{1,128}$/;

function requestId(req: IncomingMessage): string {
  const h = req.headers[REQUEST_ID_HEADER];
  const given = Array.isArray(h) ? h[0] : h;
  return given !== undefined && REQUEST_ID_RE.test(given) ? given : randomUUID();
}

/** A key as log lines carry it: at most LOG_KEY_CHARS characters, then "…". */
export function logKey(key: string): string {
  return key.length > LOG_KEY_CHARS ? key.slice(0, LOG_KEY_CHARS) + '…' : key;
}
export { MAX_BATCH_KEYS };

export interface ApiHost {
  /** The cluster once groups exist; undefined while the node is starting. */
  cluster(): Cluster | undefined;
  readiness(): { ready: boolean; state: string; reason?: string };
  /** /v1/stats; `authenticated`: the caller presented a configured token (sees endpoints and origins). */
  stats(authenticated: boolean): unknown;
  members(): unknown;
  metrics: NodeMetrics;
  /** Bearer token for writes (PUT, DELETE); also accepted for reads. */
  authToken: string | undefined;
  /** Bearer token for reads (GET/HEAD of keys, get-many, /v1/stats, /v1/members, /metrics); off when undefined. */
  readToken?: string | undefined;
  /**
   * Bearer token for the key listing; also accepted wherever the others are. Without it the listing
   * is open only when the node has no token at all.
   */
  adminToken?: string | undefined;
  logger: Logger;
  /** True while shutting down: responses close their connection. */
  draining(): boolean;
}

type Route =
  | { kind: 'key'; group: string; key: string }
  | { kind: 'get-many' | 'keys' | 'set-many' | 'flush'; group: string }
  | { kind: 'stats' | 'members' | 'metrics' | 'healthz' | 'readyz' | 'none' };

const ROUTE_LABEL: Record<Route['kind'], string> = {
  key: '/v1/groups/:group/keys/:key',
  'get-many': '/v1/groups/:group/get-many',
  keys: '/v1/groups/:group/keys',
  'set-many': '/v1/groups/:group/set-many',
  flush: '/v1/groups/:group/flush',
  stats: '/v1/stats',
  members: '/v1/members',
  metrics: '/metrics',
  healthz: '/healthz',
  readyz: '/readyz',
  none: 'other',
};

function decode(part: string, what: 'bad_key' | 'bad_group'): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new HttpError(400, what, `${what === 'bad_key' ? 'key' : 'group'} is not valid percent-encoded UTF-8`);
  }
}

/** Route a request path (query removed). Throws HttpError 400 for undecodable names. */
export function route(path: string): Route {
  switch (path) {
    case '/healthz':
      return { kind: 'healthz' };
    case '/readyz':
      return { kind: 'readyz' };
    case '/metrics':
      return { kind: 'metrics' };
    case '/v1/stats':
      return { kind: 'stats' };
    case '/v1/members':
      return { kind: 'members' };
  }
  const prefix = '/v1/groups/';
  if (!path.startsWith(prefix)) return { kind: 'none' };
  const rest = path.slice(prefix.length);
  const slash = rest.indexOf('/');
  if (slash < 0) return { kind: 'none' };
  const tail = rest.slice(slash);
  const rawGroup = rest.slice(0, slash);
  if (tail === '/get-many') return { kind: 'get-many', group: decode(rawGroup, 'bad_group') };
  if (tail === '/keys') return { kind: 'keys', group: decode(rawGroup, 'bad_group') };
  if (tail === '/set-many') return { kind: 'set-many', group: decode(rawGroup, 'bad_group') };
  if (tail === '/flush') return { kind: 'flush', group: decode(rawGroup, 'bad_group') };
  if (tail.startsWith('/keys/')) {
    // The key is everything after /keys/ (it may contain '/'), percent-decoded.
    return { kind: 'key', group: decode(rawGroup, 'bad_group'), key: decode(tail.slice(6), 'bad_key') };
  }
  return { kind: 'none' };
}

export function createHandler(host: ApiHost): (req: IncomingMessage, res: ServerResponse) => void {
  const log = host.logger;
  const listings = new KeyListings();
  return (req, res) => {
    const t0 = process.hrtime.bigint();
    host.metrics.httpInFlight.inc();
    let label = 'other';
    let key: string | undefined;
    const reqId = requestId(req);
    res.setHeader(REQUEST_ID_HEADER, reqId);
    res.once('close', () => {
      host.metrics.httpInFlight.dec();
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      host.metrics.observe(req.method ?? 'UNKNOWN', label, res.statusCode, seconds);
      if (log.isLevelEnabled('debug')) {
        log.debug(
          { reqId, method: req.method, route: label, ...(key !== undefined ? { key: logKey(key) } : {}), status: res.statusCode, ms: Math.round(seconds * 1e4) / 10 },
          'request',
        );
      }
    });
    if (host.draining()) res.shouldKeepAlive = false;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    let r: Route;
    try {
      r = route(path);
    } catch (err) {
      label = path.startsWith('/v1/groups/') && path.includes('/keys/') ? ROUTE_LABEL.key : 'other';
      sendError(res, err, log, reqId);
      return;
    }
    label = ROUTE_LABEL[r.kind];
    if (r.kind === 'key') key = r.key;
    handle(host, r, req, res, query, q < 0 ? '' : url.slice(q + 1), listings).catch((err: unknown) => sendError(res, err, log, reqId));
  };
}

async function handle(
  host: ApiHost,
  r: Route,
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
  rawQuery: string,
  listings: KeyListings,
): Promise<void> {
  const method = req.method ?? 'GET';
  switch (r.kind) {
    case 'healthz':
      allow(method, ['GET', 'HEAD']);
      return sendJson(res, 200, { status: 'ok' });
    case 'readyz': {
      allow(method, ['GET', 'HEAD']);
      const s = host.readiness();
      return sendJson(res, s.ready ? 200 : 503, s);
    }
    case 'metrics': {
      allow(method, ['GET', 'HEAD']);
      authorizeRead(host, req);
      const text = await host.metrics.text();
      return send(res, 200, Buffer.from(text), host.metrics.contentType);
    }
    case 'stats':
      allow(method, ['GET', 'HEAD']);
      authorizeRead(host, req);
      return sendJson(res, 200, host.stats(presentedToken(host, req)));
    case 'members':
      allow(method, ['GET', 'HEAD']);
      authorizeRead(host, req);
      return sendJson(res, 200, host.members());
    case 'none':
      throw new HttpError(404, 'no_route', `no route for ${method} ${(req.url ?? '').split('?')[0]}`);
    case 'key': {
      allow(method, ['GET', 'HEAD', 'PUT', 'DELETE']);
      if (method === 'PUT' || method === 'DELETE') authorize(host, req);
      else authorizeRead(host, req);
      const group = groupOf(host, r.group);
      checkKey(group, r.key);
      if (method === 'GET' || method === 'HEAD') {
        const result = await group.getResult(r.key);
        if (!result.found) {
          res.setHeader(SOURCE_HEADER, result.source);
          throw new HttpError(404, 'not_found', `key not found in group ${group.name}`);
        }
        res.setHeader(SOURCE_HEADER, result.source);
        return send(res, 200, result.value, 'application/octet-stream');
      }
      if (method === 'PUT') {
        const ttl = ttlOf(req, query);
        const body = await readBody(req, res, group.maxValueBytes, `the limit of group ${group.name}`);
        await group.set(r.key, body, ttl === undefined ? undefined : { ttl });
        return send(res, 204);
      }
      const existed = await group.remove(r.key);
      if (!existed) throw new HttpError(404, 'not_found', `key not found in group ${group.name}`);
      return send(res, 204);
    }
    case 'get-many': {
      allow(method, ['POST']);
      authorizeRead(host, req);
      const group = groupOf(host, r.group);
      return getMany(group, req, res);
    }
    case 'keys': {
      allow(method, ['GET']); // not HEAD: a page moves the listing on
      authorizeAdmin(host, req);
      const group = groupOf(host, r.group);
      return sendJson(res, 200, listings.page(group, rawQuery));
    }
    case 'set-many': {
      allow(method, ['POST']);
      authorize(host, req);
      return setMany(groupOf(host, r.group), req, res);
    }
    case 'flush': {
      allow(method, ['POST']);
      authorize(host, req);
      return flush(groupOf(host, r.group), res, host.logger);
    }
  }
}

// ----------------------------------------------------------------------------- flush

/**
 * Drop the group on every node: 200 when every node did, else 502 `partial_flush` — both with one
 * result per node (this one first). Run it again once the failed nodes are back.
 */
async function flush(group: Group, res: ServerResponse, log: Logger): Promise<void> {
  const results = await group.flush();
  const nodes = results.map((r) => {
    if (r.ok) return { id: r.id, self: r.self, ok: true, dropped: r.dropped };
    const e = toHttpError(r.error);
    return { id: r.id, self: r.self, ok: false, dropped: r.dropped, error: e.code, message: e.message };
  });
  const failed = nodes.filter((n) => !n.ok);
  log.info({ group: group.name, nodes: nodes.length, failed: failed.map((n) => n.id), dropped: nodes.reduce((a, n) => a + n.dropped, 0) }, 'group flushed');
  if (failed.length === 0) return sendJson(res, 200, { group: group.name, complete: true, nodes });
  throw new HttpError(
    502,
    'partial_flush',
    `flushed on ${nodes.length - failed.length} of ${nodes.length} nodes; not on ${failed.map((n) => `${n.id} (${n.error}: ${n.message})`).join(', ')}: flush again once they are back`,
    {},
    { group: group.name, complete: false, nodes },
  );
}

// ----------------------------------------------------------------------------- get-many

/**
 * Binary batch format (Content-Type: application/octet-stream):
 *   request:  repeated [u32 BE key length][key, UTF-8]
 *   response: per key in order, [i32 BE value length, -1 = not found][value]
 */
async function getMany(group: Group, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const binary = type === 'application/octet-stream';
  if (!binary && type !== 'application/json') {
    throw new HttpError(415, 'unsupported_media_type', 'get-many takes application/json or application/octet-stream');
  }
  const limit = MAX_BATCH_KEYS * (group.maxKeyBytes * 6 + 16) + 1024;
  const body = await readBody(req, res, limit, 'the get-many request limit');
  let keys: string[];
  let encoding: 'base64' | 'utf8' = 'base64';
  if (binary) {
    keys = decodeBinaryKeys(body);
  } else {
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.length).toString('utf8'));
    } catch {
      throw new HttpError(400, 'bad_body', 'request body is not valid JSON');
    }
    const p = parsed as { keys?: unknown; encoding?: unknown };
    if (typeof p !== 'object' || p === null || !Array.isArray(p.keys) || p.keys.some((k) => typeof k !== 'string')) {
      throw new HttpError(400, 'bad_body', 'expected {"keys": ["...", ...]}');
    }
    if (p.encoding !== undefined && p.encoding !== 'base64' && p.encoding !== 'utf8') {
      throw new HttpError(400, 'bad_body', 'encoding must be "base64" or "utf8"');
    }
    keys = p.keys as string[];
    if (p.encoding === 'utf8') encoding = 'utf8';
  }
  if (keys.length > MAX_BATCH_KEYS) throw new HttpError(400, 'bad_body', `at most ${MAX_BATCH_KEYS} keys per request, got ${keys.length}`);
  keys.forEach((k, i) => checkKey(group, k, `keys[${i}]: `));
  const values = await group.getMany(keys);
  if (binary) {
    let total = 0;
    for (const v of values) total += 4 + (v?.length ?? 0);
    const out = Buffer.allocUnsafe(total);
    let at = 0;
    for (const v of values) {
      if (v === undefined) {
        out.writeInt32BE(-1, at);
        at += 4;
      } else {
        out.writeInt32BE(v.length, at);
        out.set(v, at + 4);
        at += 4 + v.length;
      }
    }
    return send(res, 200, out, 'application/octet-stream');
  }
  const results = keys.map((key, i) => {
    const v = values[i];
    if (v === undefined) return { key, found: false };
    const b = Buffer.from(v.buffer, v.byteOffset, v.length);
    return { key, found: true, value: encoding === 'utf8' ? b.toString('utf8') : b.toString('base64') };
  });
  return sendJson(res, 200, { results });
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

function decodeBinaryKeys(body: Uint8Array): string[] {
  const keys: string[] = [];
  const view = new DataView(body.buffer, body.byteOffset, body.length);
  let at = 0;
  while (at < body.length) {
    if (at + 4 > body.length) throw new HttpError(400, 'bad_body', 'truncated key length in binary batch');
    const n = view.getUint32(at);
    at += 4;
    if (at + n > body.length) throw new HttpError(400, 'bad_body', 'truncated key in binary batch');
    try {
      keys.push(fatalUtf8.decode(body.subarray(at, at + n)));
    } catch {
      throw new HttpError(400, 'bad_key', `keys[${keys.length}]: not valid UTF-8`);
    }
    at += n;
    if (keys.length > MAX_BATCH_KEYS) break;
  }
  return keys;
}

// ----------------------------------------------------------------------------- helpers

function allow(method: string, methods: string[]): void {
  if (!methods.includes(method)) {
    throw new HttpError(405, 'method_not_allowed', `${method} is not allowed here`, { allow: methods.join(', ') });
  }
}

function authorize(host: ApiHost, req: IncomingMessage): void {
  const token = host.authToken;
  if (token === undefined) return;
  if (!bearerIs(req, token) && !(host.adminToken !== undefined && bearerIs(req, host.adminToken))) {
    throw new HttpError(401, 'unauthorized', 'writes need "Authorization: Bearer <token>"', { 'www-authenticate': 'Bearer' });
  }
}

/** Reads need the read token (or the write token) when a read token is configured. */
function authorizeRead(host: ApiHost, req: IncomingMessage): void {
  if (host.readToken === undefined) return;
  if (!presentedToken(host, req)) {
    throw new HttpError(401, 'unauthorized', 'reads need "Authorization: Bearer <read token>"', { 'www-authenticate': 'Bearer' });
  }
}

/**
 * The key listing needs the admin token. A node without one serves it only when it has no token
 * at all: a node that protects its data does not list its keys to holders of lesser tokens.
 */
function authorizeAdmin(host: ApiHost, req: IncomingMessage): void {
  if (host.adminToken !== undefined) {
    if (!bearerIs(req, host.adminToken)) {
      throw new HttpError(401, 'unauthorized', 'the key listing needs "Authorization: Bearer <admin token>"', { 'www-authenticate': 'Bearer' });
    }
    return;
  }
  if (host.authToken !== undefined || host.readToken !== undefined) {
    throw new HttpError(403, 'forbidden', 'this node has tokens but no --admin-token: the key listing is off');
  }
}

/** Whether the request carries a configured token (read, write or admin). */
function presentedToken(host: ApiHost, req: IncomingMessage): boolean {
  return (
    (host.readToken !== undefined && bearerIs(req, host.readToken)) ||
    (host.authToken !== undefined && bearerIs(req, host.authToken)) ||
    (host.adminToken !== undefined && bearerIs(req, host.adminToken))
  );
}

/** `Authorization: Bearer <token>`, compared in constant time over equal-length digests. */
function bearerIs(req: IncomingMessage, token: string): boolean {
  const got = createHash('sha256').update(req.headers.authorization ?? '').digest();
  const want = createHash('sha256').update(`Bearer ${token}`).digest();
  return timingSafeEqual(got, want);
}

function groupOf(host: ApiHost, name: string): Group {
  if (!GROUP_NAME_RE.test(name)) {
    throw new HttpError(400, 'bad_group', `invalid group name: expected 1..64 of [A-Za-z0-9_.-], starting with a letter or digit`);
  }
  const cluster = host.cluster();
  if (!cluster) throw new HttpError(503, 'not_ready', 'the node is starting');
  const g = cluster.groups().find((x) => x.name === name);
  if (!g) throw new HttpError(404, 'unknown_group', `no group named ${name}`);
  return g;
}

function checkKey(group: Group, key: string, prefix = ''): void {
  try {
    group.checkKey(key);
  } catch (err) {
    throw new HttpError(400, 'bad_key', prefix + (err as Error).message);
  }
}

function ttlOf(req: IncomingMessage, query: URLSearchParams): number | undefined {
  const h = req.headers[TTL_HEADER];
  const raw = (Array.isArray(h) ? h[0] : h) ?? query.get('ttl') ?? undefined;
  if (raw === undefined) return undefined;
  try {
    return parseDuration(raw);
  } catch (err) {
    throw new HttpError(400, 'bad_ttl', `ttl: ${err instanceof RangeError ? err.message : 'invalid'}`);
  }
}

function sendError(res: ServerResponse, err: unknown, log: Logger, reqId: string): void {
  if (err instanceof ClientAbortedError) {
    log.info({ reqId, received: err.received, declared: err.declared ?? null }, 'upload aborted by the client');
    res.statusCode = 499; // "client closed request", for the request metrics; nothing is sent
    res.destroy();
    return;
  }
  const e = toHttpError(err);
  if (e.status === 500) log.error({ reqId, err: err instanceof Error ? err.stack : String(err) }, 'internal error');
  if (res.headersSent) {
    res.destroy();
    return;
  }
  for (const [k, v] of Object.entries(e.headers)) res.setHeader(k, v);
  sendJson(res, e.status, { error: e.code, message: e.message, ...e.body });
}
