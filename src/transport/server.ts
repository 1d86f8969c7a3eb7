/**
 * The gRPC server of a node: the arenacache.v1.Peer service plus grpc.health.v1.Health.
 *
 * It validates every request completely before touching anything (so a bad request changes
 * nothing), maps errors to status codes, and answers every request locally through the
 * `PeerHandler` (the cluster) — it never forwards.
 */
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import {
  ArenaCacheError,
  GroupError,
  GrpcCode,
  InvalidArgumentError,
} from '../cluster/errors.js';
import { checkGroupName, checkTtl } from '../cluster/validate.js';
import { NOT_FOUND } from '../cluster/types.js';
import {
  ERROR_KIND_KEY,
  isMalformed,
  MALFORMED,
  peerService,
  SERVICE_NAME,
  type GetManyItem,
  type GetManyRequest,
  type GetManyResponse,
  type GetRequest,
  type GetResponse,
  type InvalidateRequest,
  type InvalidateResponse,
  type RemoveRequest,
  type RemoveResponse,
  type SetRequest,
  type SetResponse,
} from './proto.js';
import { serverCredentials, type TlsConfig } from './tls.js';

/** One group as the server sees it. Every method may throw an ArenaCacheError. */
export interface ServedGroup {
  /** Throws InvalidArgumentError when the key is not acceptable for this group. */
  checkKey(key: string): void;
  /** Throws InvalidArgumentError when the value is larger than the group accepts. */
  checkValue(value: Uint8Array): void;
  /** Answer locally: caches, then this node's loader. undefined = not found. */
  serveGet(key: string): Promise<Uint8Array | undefined>;
  /**
   * Optional synchronous cache answer: bytes, NOT_FOUND, or undefined when the key needs
   * serveLoad (or serveGet, if the group is not serving yet).
   */
  serveCached?(key: string): Uint8Array | typeof NOT_FOUND | undefined;
  serveLoad?(key: string): Promise<Uint8Array | undefined>;
  /** Store as owner, then invalidate on every other node. */
  serveSet(key: string, value: Uint8Array, ttl: number | undefined): Promise<void>;
  /** Delete as owner, then invalidate on every other node. Returns how many existed here. */
  serveRemove(keys: string[]): Promise<number>;
  /** Drop the keys from this node's caches. */
  serveInvalidate(keys: string[]): void;
}

export interface PeerHandler {
  /** The group, or undefined when this node has none of that name. May throw ClosedError. */
  group(name: string): ServedGroup | undefined;
}

export interface PeerServerOptions {
  /** Largest gRPC message received or sent, in bytes. Default 8 MiB + 64 KiB. */
  maxMessageBytes?: number;
  /** Most keys in one GetMany/Remove/Invalidate request. Default 4096. */
  maxKeysPerRequest?: number;
  tls?: TlsConfig;
  /** Extra grpc.Server options. */
  serverOptions?: grpc.ServerOptions;
}

export interface MethodCounters {
  calls: number;
  keys: number;
}

export interface ServerStats {
  get: MethodCounters;
  getMany: MethodCounters;
  set: MethodCounters;
  remove: MethodCounters;
  invalidate: MethodCounters;
  /** Failed calls by gRPC status code name (NOT_FOUND included). */
  errors: Record<string, number>;
}

export const DEFAULT_MAX_MESSAGE_BYTES = (8 << 20) + (64 << 10);
const RESPONSE_MARGIN = 16 << 10;
const ITEM_OVERHEAD = 24;

const utf8 = new TextDecoder('utf-8', { fatal: true });
const STATUS_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(grpc.status).filter(([, v]) => typeof v === 'number').map(([k, v]) => [v, k]),
);

type Callback<T> = grpc.sendUnaryData<T>;

export class PeerServer {
  readonly server: grpc.Server;
  readonly health: HealthImplementation;
  readonly maxMessageBytes: number;
  readonly maxKeysPerRequest: number;
  private readonly counters: ServerStats = {
    get: { calls: 0, keys: 0 },
    getMany: { calls: 0, keys: 0 },
    set: { calls: 0, keys: 0 },
    remove: { calls: 0, keys: 0 },
    invalidate: { calls: 0, keys: 0 },
    errors: {},
  };
  private boundPort = -1;
  private closed = false;

  constructor(
    private readonly handler: PeerHandler,
    private readonly options: PeerServerOptions = {},
  ) {
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.maxKeysPerRequest = options.maxKeysPerRequest ?? 4096;
    this.server = new grpc.Server({
      'grpc.max_receive_message_length': this.maxMessageBytes,
      'grpc.max_send_message_length': this.maxMessageBytes,
      ...options.serverOptions,
    });
    const svc = peerService();
    this.server.addService(svc as unknown as grpc.ServiceDefinition, {
      Get: (call: grpc.ServerUnaryCall<GetRequest, GetResponse>, cb: Callback<GetResponse>) =>
        this.onGet(call.request, cb),
      GetMany: (call: grpc.ServerUnaryCall<GetManyRequest, GetManyResponse>, cb: Callback<GetManyResponse>) =>
        this.onGetMany(call.request, cb),
      Set: (call: grpc.ServerUnaryCall<SetRequest, SetResponse>, cb: Callback<SetResponse>) =>
        this.onSet(call.request, cb),
      Remove: (call: grpc.ServerUnaryCall<RemoveRequest, RemoveResponse>, cb: Callback<RemoveResponse>) =>
        this.onRemove(call.request, cb),
      Invalidate: (call: grpc.ServerUnaryCall<InvalidateRequest, InvalidateResponse>, cb: Callback<InvalidateResponse>) =>
        this.onInvalidate(call.request, cb),
    });
    this.health = new HealthImplementation({ '': 'NOT_SERVING', [SERVICE_NAME]: 'NOT_SERVING' });
    this.health.addToServer(this.server as unknown as Parameters<HealthImplementation['addToServer']>[0]);
  }

  /** Bind `host:port` (port 0 = ephemeral) and start serving. Resolves with the bound port. */
  listen(host: string, port: number): Promise<number> {
    const creds = serverCredentials(this.options.tls);
    const target = host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
    return new Promise((resolve, reject) => {
      this.server.bindAsync(target, creds, (err, bound) => {
        if (err) return reject(err);
        this.boundPort = bound;
        resolve(bound);
      });
    });
  }

  get port(): number {
    return this.boundPort;
  }

  /** Health status of the whole server and of the Peer service. */
  setServing(serving: boolean): void {
    const s = serving ? 'SERVING' : 'NOT_SERVING';
    this.health.setStatus('', s);
    this.health.setStatus(SERVICE_NAME, s);
  }

  stats(): ServerStats {
    const c = this.counters;
    return {
      get: { ...c.get },
      getMany: { ...c.getMany },
      set: { ...c.set },
      remove: { ...c.remove },
      invalidate: { ...c.invalidate },
      errors: { ...c.errors },
    };
  }

  /** Stop accepting calls; let running ones finish for up to `graceMs`, then cut them. Idempotent. */
  async close(graceMs = 2000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.setServing(false);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  // ---------------------------------------------------------------- handlers

  private onGet(req: GetRequest, cb: Callback<GetResponse>): void {
    this.counters.get.calls++;
    let key: string;
    let group: ServedGroup;
    try {
      group = this.resolve(req);
      key = decodeKey(req.key);
      group.checkKey(key);
    } catch (err) {
      return this.fail(cb, err);
    }
    this.counters.get.keys++;
    group.serveGet(key).then(
      (value) => {
        if (value === undefined) {
          this.countError(GrpcCode.NOT_FOUND);
          cb({ code: grpc.status.NOT_FOUND, details: 'not found' });
        } else if (value.length + RESPONSE_MARGIN > this.maxMessageBytes) {
          this.countError(GrpcCode.RESOURCE_EXHAUSTED);
          cb({ code: grpc.status.RESOURCE_EXHAUSTED, details: `value of ${value.length} bytes exceeds the message limit` });
        } else {
          cb(null, { value });
        }
      },
      (err) => this.fail(cb, err),
    );
  }

  private onGetMany(req: GetManyRequest, cb: Callback<GetManyResponse>): void {
    this.counters.getMany.calls++;
    let keys: string[];
    let group: ServedGroup;
    try {
      group = this.resolve(req);
      keys = this.decodeKeys(req.keys, group);
    } catch (err) {
      return this.fail(cb, err);
    }
    this.counters.getMany.keys += keys.length;
    // Cached keys are answered synchronously; only keys that need a load cost a promise.
    const answers: (GetManyItem | Promise<GetManyItem>)[] = new Array(keys.length);
    let waiting = false;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const cached = group.serveCached?.(key);
      if (cached === NOT_FOUND) {
        answers[i] = NOT_FOUND_ITEM;
      } else if (cached !== undefined) {
        answers[i] = { status: 'FOUND', value: cached };
      } else {
        answers[i] = (group.serveLoad && group.serveCached ? group.serveLoad(key) : group.serveGet(key)).then(foundItem, errorItem);
        waiting = true;
      }
    }
    const all = waiting ? Promise.all(answers) : Promise.resolve(answers as GetManyItem[]);
    all.then((items) => {
      // Keep the response under the message limit; the client fetches TOO_LARGE ones one by one.
      let budget = this.maxMessageBytes - RESPONSE_MARGIN;
      for (let i = 0; i < items.length; i++) {
        const it = items[i]!;
        const size = (it.value?.length ?? 0) + (it.message?.length ?? 0) + ITEM_OVERHEAD;
        if (size > budget) {
          items[i] = { status: 'TOO_LARGE' };
          budget -= ITEM_OVERHEAD;
        } else {
          budget -= size;
        }
      }
      cb(null, { items });
    }, (err) => this.fail(cb, err));
  }

  private onSet(req: SetRequest, cb: Callback<SetResponse>): void {
    this.counters.set.calls++;
    let key: string;
    let group: ServedGroup;
    try {
      group = this.resolve(req);
      key = decodeKey(req.key);
      group.checkKey(key);
      if (!(req.value instanceof Uint8Array)) throw new InvalidArgumentError('value must be bytes');
      group.checkValue(req.value);
      if (req.ttlMs !== undefined) checkTtl(req.ttlMs, 'ttl_ms');
    } catch (err) {
      return this.fail(cb, err);
    }
    this.counters.set.keys++;
    group.serveSet(key, req.value, req.ttlMs).then(
      () => cb(null, {}),
      (err) => this.fail(cb, err),
    );
  }

  private onRemove(req: RemoveRequest, cb: Callback<RemoveResponse>): void {
    this.counters.remove.calls++;
    let keys: string[];
    let group: ServedGroup;
    try {
      group = this.resolve(req);
      keys = this.decodeKeys(req.keys, group);
    } catch (err) {
      return this.fail(cb, err);
    }
    this.counters.remove.keys += keys.length;
    group.serveRemove(keys).then(
      (removed) => cb(null, { removed }),
      (err) => this.fail(cb, err),
    );
  }

  private onInvalidate(req: InvalidateRequest, cb: Callback<InvalidateResponse>): void {
    this.counters.invalidate.calls++;
    try {
      const group = this.resolve(req);
      const keys = this.decodeKeys(req.keys, group);
      this.counters.invalidate.keys += keys.length;
      group.serveInvalidate(keys);
    } catch (err) {
      return this.fail(cb, err);
    }
    cb(null, {});
  }

  // ---------------------------------------------------------------- helpers

  private resolve(req: { group: string }): ServedGroup {
    if (isMalformed(req)) throw new InvalidArgumentError(`malformed request: ${req[MALFORMED]}`);
    checkGroupName(req.group);
    const g = this.handler.group(req.group);
    if (!g) throw new GroupError(`no group named ${JSON.stringify(req.group)} on this node`);
    return g;
  }

  private decodeKeys(raw: Uint8Array[], group: ServedGroup): string[] {
    if (!Array.isArray(raw) || raw.length === 0) throw new InvalidArgumentError('keys must not be empty');
    if (raw.length > this.maxKeysPerRequest) {
      throw new InvalidArgumentError(`${raw.length} keys in one request, the limit is ${this.maxKeysPerRequest}`);
    }
    const keys = new Array<string>(raw.length);
    for (let i = 0; i < raw.length; i++) {
      const k = decodeKey(raw[i]!);
      group.checkKey(k);
      keys[i] = k;
    }
    return keys;
  }

  private countError(code: number): void {
    const name = STATUS_NAMES[code] ?? String(code);
    this.counters.errors[name] = (this.counters.errors[name] ?? 0) + 1;
  }

  private fail<T>(cb: Callback<T>, err: unknown): void {
    const md = new grpc.Metadata();
    if (err instanceof ArenaCacheError) {
      md.set(ERROR_KIND_KEY, err.kind);
      this.countError(err.grpcCode);
      cb({ code: err.grpcCode, details: err.message, metadata: md });
      return;
    }
    this.countError(GrpcCode.INTERNAL);
    const message = err instanceof Error ? err.message : String(err);
    cb({ code: grpc.status.INTERNAL, details: `internal error: ${message}`, metadata: md });
  }
}

function decodeKey(raw: Uint8Array): string {
  if (!(raw instanceof Uint8Array) || raw.length === 0) throw new InvalidArgumentError('key must not be empty');
  try {
    return utf8.decode(raw);
  } catch {
    throw new InvalidArgumentError('key is not valid UTF-8');
  }
}

const NOT_FOUND_ITEM: GetManyItem = { status: 'NOT_FOUND' };

function foundItem(value: Uint8Array | undefined): GetManyItem {
  return value === undefined ? NOT_FOUND_ITEM : { status: 'FOUND', value };
}

function errorItem(err: unknown): GetManyItem {
  if (err instanceof ArenaCacheError) {
    return { status: 'ERROR', code: err.grpcCode, kind: err.kind, message: err.message };
  }
  return { status: 'ERROR', code: GrpcCode.INTERNAL, kind: '', message: err instanceof Error ? err.message : String(err) };
}
