/**
 * The gRPC server of a node: the arenacache.v1.Peer service plus grpc.health.v1.Health.
 *
 * Messages are read and written with the wire codec (wire/): keys arrive as views of the request,
 * values go from the cache's I/O area straight into the response (GetManyResponseWriter). It
 * validates every request completely before touching anything (so a bad request changes nothing),
 * maps errors to status codes (status.ts), and answers every request locally through the cluster's
 * `PeerHandler` — it never forwards. Fetch streams (GetStream) are served by get-stream-handler.ts.
 */
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { GroupError, InvalidArgumentError } from '../cluster/errors.js';
import type { MethodCounters, PeerHandler, ServedGroup, ServerStats } from '../cluster/peer.js';
import { checkGroupName, checkTtl } from '../cluster/validate.js';
import { NOT_FOUND } from '../cluster/types.js';
import { isMalformed, MALFORMED, SERVICE_NAME, type Malformed } from './proto.js';
import { SecretCheck } from './auth.js';
import { MAX_KEYS_PER_REQUEST } from './batch-options.js';
import { GetStreamHandler, type GetStreamCall, type GetStreamServer } from './get-stream-handler.js';
import { cachedAnswer, KeyError, loadAnswer, writeAnswer, type LoadAnswer } from './key-answers.js';
import { serviceErrorOf, statusName, statusObject } from './status.js';
import { peerWireService } from './wire/service.js';
import { encodeGetResponse } from './wire/get.js';
import { encodeRemoveResponse } from './wire/small-responses.js';
import { encodeFlushResponse } from './wire/flush.js';
import { GetManyResponseWriter } from './wire/get-many-response-writer.js';
import type { GetRequestOut, KeysRequestOut, SetRequestOut } from './wire/messages.js';

export interface PeerServerOptions {
  /** Largest gRPC message received or sent, in bytes. */
  maxMessageBytes: number;
  /** Most keys in one GetMany/GetStream batch/Remove/Invalidate request. Default 4096. */
  maxKeysPerRequest?: number;
  /** Extra grpc.Server options. */
  serverOptions?: grpc.ServerOptions;
  /** Calls must carry this cluster secret (auth.ts); without it: UNAUTHENTICATED, nothing changed. */
  secret?: Uint8Array;
}

/** Room kept in every response for what is not a value (item headers, TOO_LARGE markers, the tail). */
const RESPONSE_MARGIN = 16 << 10;

const utf8 = new TextDecoder('utf-8', { fatal: true });
const EMPTY = Buffer.alloc(0);

type Callback = grpc.sendUnaryData<Buffer>;
type Request<T> = T | Malformed;

export class PeerServer implements GetStreamServer {
  readonly server: grpc.Server;
  readonly health: HealthImplementation;
  readonly maxMessageBytes: number;
  readonly maxKeysPerRequest: number;
  /** Every GetMany, GetStream and Handoff response is written by this one writer (synchronously). */
  readonly writer: GetManyResponseWriter;
  private readonly stats_: ServerStats = {
    get: { calls: 0, keys: 0 },
    getMany: { calls: 0, keys: 0 },
    stream: { calls: 0, keys: 0 },
    set: { calls: 0, keys: 0 },
    remove: { calls: 0, keys: 0 },
    invalidate: { calls: 0, keys: 0 },
    handoff: { calls: 0, keys: 0 },
    flush: { calls: 0, keys: 0 },
    errors: {},
  };
  private readonly streams = new Set<GetStreamHandler>();
  /** Bytes an answer of each group took lately (running average): sizes GetMany/GetStream responses. */
  private readonly answerBytes = new Map<string, number>();
  private boundPort = -1;
  private closing = false;

  constructor(
    private readonly handler: PeerHandler,
    options: PeerServerOptions,
  ) {
    this.maxMessageBytes = options.maxMessageBytes;
    this.maxKeysPerRequest = options.maxKeysPerRequest ?? MAX_KEYS_PER_REQUEST;
    this.writer = new GetManyResponseWriter({ maxBytes: this.maxMessageBytes - RESPONSE_MARGIN });
    this.server = new grpc.Server({
      'grpc.max_receive_message_length': this.maxMessageBytes,
      'grpc.max_send_message_length': this.maxMessageBytes,
      ...options.serverOptions,
    });
    const check = options.secret ? new SecretCheck(options.secret) : undefined;
    // Every Peer method needs the cluster credential (reads too: cached data must not leak, and a
    // Get can make the origin work). Checked before the request is looked at; health is open.
    const unary =
      <Req>(counters: MethodCounters, handle: (req: Request<Req>, cb: Callback) => void) =>
      (call: grpc.ServerUnaryCall<Request<Req>, Buffer>, cb: Callback): void => {
        if (check && !check.verify(call.metadata)) {
          counters.calls++;
          this.countError(grpc.status.UNAUTHENTICATED);
          cb({ code: grpc.status.UNAUTHENTICATED, details: 'missing or wrong cluster secret' });
          return;
        }
        handle(call.request, cb);
      };
    const c = this.stats_;
    this.server.addService(peerWireService() as unknown as grpc.ServiceDefinition, {
      Get: unary(c.get, (req: Request<GetRequestOut>, cb) => this.onGet(req, cb)),
      GetMany: unary(c.getMany, (req: Request<KeysRequestOut>, cb) => this.onGetMany(req, cb)),
      Set: unary(c.set, (req: Request<SetRequestOut>, cb) => this.onSet(req, cb)),
      Remove: unary(c.remove, (req: Request<KeysRequestOut>, cb) => this.onRemove(req, cb)),
      Invalidate: unary(c.invalidate, (req: Request<KeysRequestOut>, cb) => this.onInvalidate(req, cb)),
      Handoff: unary(c.handoff, (req: Request<KeysRequestOut>, cb) => this.onHandoff(req, cb)),
      Flush: unary(c.flush, (req: Request<{ group: string }>, cb) => this.onFlush(req, cb)),
      GetStream: (call: GetStreamCall): void => {
        if (check && !check.verify(call.metadata)) {
          this.countError(grpc.status.UNAUTHENTICATED);
          call.emit('error', { code: grpc.status.UNAUTHENTICATED, details: 'missing or wrong cluster secret', metadata: new grpc.Metadata() });
          return;
        }
        const stream = new GetStreamHandler(call, this);
        this.streams.add(stream);
        if (this.closing) stream.drain();
      },
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

  /** Counters of fetch-stream batches (GetStreamServer). */
  get streamCounters(): MethodCounters {
    return this.stats_.stream;
  }

  /** Health status of the whole server and of the Peer service. */
  setServing(serving: boolean): void {
    const s = serving ? 'SERVING' : 'NOT_SERVING';
    this.health.setStatus('', s);
    this.health.setStatus(SERVICE_NAME, s);
  }

  stats(): ServerStats {
    const c = this.stats_;
    return {
      get: { ...c.get },
      getMany: { ...c.getMany },
      stream: { ...c.stream },
      set: { ...c.set },
      remove: { ...c.remove },
      invalidate: { ...c.invalidate },
      handoff: { ...c.handoff },
      flush: { ...c.flush },
      errors: { ...c.errors },
    };
  }

  /**
   * Stop accepting calls; fetch streams end once the batches they took are answered; running calls
   * get up to `graceMs`, then are cut. Idempotent.
   */
  async close(graceMs = 2000): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.setServing(false);
    for (const s of [...this.streams]) s.drain();
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

  // ---------------------------------------------------------------- GetStreamServer

  /** The group a request names; throws for a malformed request, a bad name or an unknown group. */
  resolve(req: Request<{ group: string }>): ServedGroup {
    if (isMalformed(req)) throw new InvalidArgumentError(`malformed request: ${req[MALFORMED]}`);
    checkGroupName(req.group);
    const g = this.handler.group(req.group);
    if (!g) throw new GroupError(`no group named ${JSON.stringify(req.group)} on this node`);
    return g;
  }

  decodeKeys(raw: Uint8Array[], group: ServedGroup): string[] {
    if (raw.length === 0) throw new InvalidArgumentError('keys must not be empty');
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

  expectedBytes(group: string, keys: number): number {
    return keys * (this.answerBytes.get(group) ?? 0);
  }

  learnBytes(group: string, items: number, bytes: number): void {
    if (items === 0) return;
    const mean = bytes / items;
    const avg = this.answerBytes.get(group);
    this.answerBytes.set(group, avg === undefined ? mean : avg + (mean - avg) / 8);
  }

  countError(code: number): void {
    const name = statusName(code);
    this.stats_.errors[name] = (this.stats_.errors[name] ?? 0) + 1;
  }

  closed(stream: GetStreamHandler): void {
    this.streams.delete(stream);
  }

  // ---------------------------------------------------------------- handlers

  private onGet(req: Request<GetRequestOut>, cb: Callback): void {
    this.stats_.get.calls++;
    let key: string;
    let group: ServedGroup;
    try {
      group = this.resolve(req);
      key = decodeKey((req as GetRequestOut).key);
      group.checkKey(key);
    } catch (err) {
      return this.fail(cb, err);
    }
    this.stats_.get.keys++;
    const cached = cachedAnswer(group, key);
    if (cached !== undefined) return this.answerGet(cb, cached === NOT_FOUND ? undefined : cached);
    loadAnswer(group, key).then((a) => (a instanceof Uint8Array || a === NOT_FOUND ? this.answerGet(cb, a === NOT_FOUND ? undefined : a) : this.fail(cb, a)));
  }

  private answerGet(cb: Callback, value: Uint8Array | undefined): void {
    if (value === undefined) {
      this.countError(grpc.status.NOT_FOUND);
      cb({ code: grpc.status.NOT_FOUND, details: 'not found' });
    } else if (value.length + RESPONSE_MARGIN > this.maxMessageBytes) {
      this.countError(grpc.status.RESOURCE_EXHAUSTED);
      cb({ code: grpc.status.RESOURCE_EXHAUSTED, details: `value of ${value.length} bytes exceeds the message limit` });
    } else {
      cb(null, encodeGetResponse(value));
    }
  }

  /**
   * A unary GetMany: items in request order. Cached keys are written as they come; from the first
   * key that must be loaded on, the response waits for the loads (what is written so far is kept
   * aside, later cached values are copied).
   */
  private onGetMany(req: Request<KeysRequestOut>, cb: Callback): void {
    this.stats_.getMany.calls++;
    let keys: string[];
    let group: ServedGroup;
    try {
      group = this.resolve(req);
      keys = this.decodeKeys((req as KeysRequestOut).keys, group);
    } catch (err) {
      return this.fail(cb, err);
    }
    this.stats_.getMany.keys += keys.length;
    const name = (req as KeysRequestOut).group;
    const w = this.writer.begin(this.expectedBytes(name, keys.length));
    let i = 0;
    for (; i < keys.length; i++) {
      const cached = cachedAnswer(group, keys[i]!);
      if (cached === undefined) break;
      writeAnswer(w, cached);
    }
    if (i === keys.length) {
      this.learnBytes(name, w.count, w.byteLength);
      return cb(null, w.finish());
    }
    const head = w.detach();
    const rest = new Array<LoadAnswer | Promise<LoadAnswer>>(keys.length - i);
    rest[0] = loadAnswer(group, keys[i]!);
    for (let j = i + 1; j < keys.length; j++) {
      const cached = cachedAnswer(group, keys[j]!);
      rest[j - i] = cached === undefined ? loadAnswer(group, keys[j]!) : cached === NOT_FOUND ? cached : cached.slice();
    }
    void Promise.all(rest).then((answers) => {
      const out = this.writer.begin();
      out.raw(head.bytes, head.items);
      for (const a of answers) writeAnswer(out, a);
      cb(null, out.finish());
    });
  }

  private onSet(req: Request<SetRequestOut>, cb: Callback): void {
    this.stats_.set.calls++;
    let key: string;
    let group: ServedGroup;
    let msg: SetRequestOut;
    try {
      group = this.resolve(req);
      msg = req as SetRequestOut;
      key = decodeKey(msg.key);
      group.checkKey(key);
      group.checkValue(msg.value);
      if (msg.ttlMs !== undefined) checkTtl(msg.ttlMs, 'ttl_ms');
    } catch (err) {
      return this.fail(cb, err);
    }
    this.stats_.set.keys++;
    group.serveSet(key, msg.value, msg.ttlMs).then(
      () => cb(null, EMPTY),
      (err) => this.fail(cb, err),
    );
  }

  private onRemove(req: Request<KeysRequestOut>, cb: Callback): void {
    this.stats_.remove.calls++;
    let keys: string[];
    let group: ServedGroup;
    try {
      group = this.resolve(req);
      keys = this.decodeKeys((req as KeysRequestOut).keys, group);
    } catch (err) {
      return this.fail(cb, err);
    }
    this.stats_.remove.keys += keys.length;
    group.serveRemove(keys).then(
      (removed) => cb(null, encodeRemoveResponse({ removed })),
      (err) => this.fail(cb, err),
    );
  }

  private onInvalidate(req: Request<KeysRequestOut>, cb: Callback): void {
    this.stats_.invalidate.calls++;
    try {
      const group = this.resolve(req);
      const keys = this.decodeKeys((req as KeysRequestOut).keys, group);
      this.stats_.invalidate.keys += keys.length;
      group.serveInvalidate(keys);
    } catch (err) {
      return this.fail(cb, err);
    }
    cb(null, EMPTY);
  }

  private onFlush(req: Request<{ group: string }>, cb: Callback): void {
    this.stats_.flush.calls++;
    let dropped: number;
    try {
      dropped = this.resolve(req).serveFlush();
    } catch (err) {
      return this.fail(cb, err);
    }
    cb(null, encodeFlushResponse({ dropped }));
  }

  private onHandoff(req: Request<KeysRequestOut>, cb: Callback): void {
    this.stats_.handoff.calls++;
    let keys: string[];
    let group: ServedGroup;
    try {
      group = this.resolve(req);
      keys = this.decodeKeys((req as KeysRequestOut).keys, group);
    } catch (err) {
      return this.fail(cb, err);
    }
    this.stats_.handoff.keys += keys.length;
    const w = this.writer.begin();
    for (const key of keys) {
      const value = group.serveHandoff?.(key);
      // Nothing to hand over: NOT_FOUND. A value too large for this response goes as TOO_LARGE,
      // which the new owner also reads as "none" (it loads the key itself).
      if (value === undefined) w.notFound();
      else w.found(value);
    }
    const holdsNothing = this.handler.mayHandOver?.(keys) === false;
    cb(null, w.finish({ holdsNothing }));
  }

  /** Answer the call with the status of `err` (a thrown error, or a loaded key's KeyError). */
  private fail(cb: Callback, err: unknown): void {
    const status = err instanceof KeyError ? statusObject(err.status) : serviceErrorOf(err);
    this.countError(status.code);
    cb(status);
  }
}

function decodeKey(raw: Uint8Array): string {
  if (raw.length === 0) throw new InvalidArgumentError('key must not be empty');
  if (raw.length <= 64) {
    // Short ASCII keys (the common case) without a decoder call.
    let s = '';
    let i = 0;
    for (; i < raw.length; i++) {
      const c = raw[i]!;
      if (c >= 0x80) break;
      s += String.fromCharCode(c);
    }
    if (i === raw.length) return s;
  }
  try {
    return utf8.decode(raw);
  } catch {
    throw new InvalidArgumentError('key is not valid UTF-8');
  }
}
