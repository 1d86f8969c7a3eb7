/**
 * The gRPC server of a node: the arenacache.v1.Peer service plus grpc.health.v1.Health.
 *
 * It validates every request completely before touching anything (so a bad request changes
 * nothing), maps errors to status codes (status.ts), and answers every request locally through
 * the cluster's `PeerHandler` — it never forwards.
 */
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { GroupError, InvalidArgumentError } from '../cluster/errors.js';
import type { MethodCounters, PeerHandler, ServedGroup, ServerStats } from '../cluster/peer.js';
import { checkGroupName, checkTtl } from '../cluster/validate.js';
import { NOT_FOUND } from '../cluster/types.js';
import {
  isMalformed,
  MALFORMED,
  peerService,
  SERVICE_NAME,
  type GetManyItem,
  type GetManyRequest,
  type GetManyResponse,
  type GetRequest,
  type FlushRequest,
  type FlushResponse,
  type GetResponse,
  type HandoffResponse,
  type InvalidateRequest,
  type InvalidateResponse,
  type RemoveRequest,
  type RemoveResponse,
  type SetRequest,
  type SetResponse,
} from './proto.js';
import { SecretCheck } from './auth.js';
import { serviceErrorOf, statusName, statusOf } from './status.js';

export interface PeerServerOptions {
  /** Largest gRPC message received or sent, in bytes. */
  maxMessageBytes: number;
  /** Most keys in one GetMany/Remove/Invalidate request. Default 4096. */
  maxKeysPerRequest?: number;
  /** Extra grpc.Server options. */
  serverOptions?: grpc.ServerOptions;
  /** Calls must carry this cluster secret (auth.ts); without it: UNAUTHENTICATED, nothing changed. */
  secret?: Uint8Array;
}

const RESPONSE_MARGIN = 16 << 10;
const ITEM_OVERHEAD = 24;

const utf8 = new TextDecoder('utf-8', { fatal: true });
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
    handoff: { calls: 0, keys: 0 },
    flush: { calls: 0, keys: 0 },
    errors: {},
  };
  private boundPort = -1;
  private closed = false;

  constructor(
    private readonly handler: PeerHandler,
    private readonly options: PeerServerOptions,
  ) {
    this.maxMessageBytes = options.maxMessageBytes;
    this.maxKeysPerRequest = options.maxKeysPerRequest ?? 4096;
    this.server = new grpc.Server({
      'grpc.max_receive_message_length': this.maxMessageBytes,
      'grpc.max_send_message_length': this.maxMessageBytes,
      ...options.serverOptions,
    });
    const svc = peerService();
    const check = options.secret ? new SecretCheck(options.secret) : undefined;
    // Every Peer method needs the cluster credential (reads too: cached data must not leak, and a
    // Get can make the origin work). Checked before the request is looked at; health is open.
    const auth =
      <Req, Res>(counters: MethodCounters, handle: (req: Req, cb: Callback<Res>) => void) =>
      (call: grpc.ServerUnaryCall<Req, Res>, cb: Callback<Res>): void => {
        if (check && !check.verify(call.metadata)) {
          counters.calls++;
          this.countError(grpc.status.UNAUTHENTICATED);
          cb({ code: grpc.status.UNAUTHENTICATED, details: 'missing or wrong cluster secret' });
          return;
        }
        handle(call.request, cb);
      };
    const c = this.counters;
    this.server.addService(svc as unknown as grpc.ServiceDefinition, {
      Get: auth(c.get, (req: GetRequest, cb: Callback<GetResponse>) => this.onGet(req, cb)),
      GetMany: auth(c.getMany, (req: GetManyRequest, cb: Callback<GetManyResponse>) => this.onGetMany(req, cb)),
      Set: auth(c.set, (req: SetRequest, cb: Callback<SetResponse>) => this.onSet(req, cb)),
      Remove: auth(c.remove, (req: RemoveRequest, cb: Callback<RemoveResponse>) => this.onRemove(req, cb)),
      Invalidate: auth(c.invalidate, (req: InvalidateRequest, cb: Callback<InvalidateResponse>) => this.onInvalidate(req, cb)),
      Handoff: auth(c.handoff, (req: GetManyRequest, cb: Callback<HandoffResponse>) => this.onHandoff(req, cb)),
      Flush: auth(c.flush, (req: FlushRequest, cb: Callback<FlushResponse>) => this.onFlush(req, cb)),
    });
    this.health = new HealthImplementation({ '': 'NOT_SERVING', [SERVICE_NAME]: 'NOT_SERVING' });
    this.health.addToServer(this.server as unknown as Parameters<HealthImplementation['addToServer']>[0]);
  }

  /** Bind `target` (`host:port`, port 0 = ephemeral) and start serving. Resolves with the bound port. */
  listen(target: string, creds: grpc.ServerCredentials): Promise<number> {
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
      handoff: { ...c.handoff },
      flush: { ...c.flush },
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
          this.countError(grpc.status.NOT_FOUND);
          cb({ code: grpc.status.NOT_FOUND, details: 'not found' });
        } else if (value.length + RESPONSE_MARGIN > this.maxMessageBytes) {
          this.countError(grpc.status.RESOURCE_EXHAUSTED);
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

  private onHandoff(req: GetManyRequest, cb: Callback<HandoffResponse>): void {
    this.counters.handoff.calls++;
    let keys: string[];
    let group: ServedGroup;
    try {
      group = this.resolve(req);
      keys = this.decodeKeys(req.keys, group);
    } catch (err) {
      return this.fail(cb, err);
    }
    this.counters.handoff.keys += keys.length;
    let budget = this.maxMessageBytes - RESPONSE_MARGIN;
    const items = keys.map((key): GetManyItem => {
      const value = group.serveHandoff?.(key);
      if (value === undefined) return NOT_FOUND_ITEM;
      if (value.length + ITEM_OVERHEAD > budget) return NOT_FOUND_ITEM; // the new owner reloads it
      budget -= value.length + ITEM_OVERHEAD;
      return { status: 'FOUND', value };
    });
    const holdsNothing = this.handler.mayHandOver?.(keys) === false;
    cb(null, { items, holdsNothing });
  }

  private onFlush(req: FlushRequest, cb: Callback<FlushResponse>): void {
    this.counters.flush.calls++;
    let dropped: number;
    try {
      dropped = this.resolve(req).serveFlush();
    } catch (err) {
      return this.fail(cb, err);
    }
    cb(null, { dropped: Math.min(dropped, 0xffff_ffff) });
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
    const name = statusName(code);
    this.counters.errors[name] = (this.counters.errors[name] ?? 0) + 1;
  }

  private fail<T>(cb: Callback<T>, err: unknown): void {
    const status = serviceErrorOf(err);
    this.countError(status.code);
    cb(status);
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
  const s = statusOf(err);
  return { status: 'ERROR', code: s.code, kind: s.kind ?? '', message: err instanceof Error ? err.message : String(err) };
}
