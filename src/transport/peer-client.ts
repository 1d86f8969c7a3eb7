/**
 * The gRPC client for one peer (implements the cluster's PeerClient): one persistent channel
 * (created when the peer joins, closed when it leaves), messages in the wire codec (wire/),
 * failures mapped to the cluster's error classes (status.ts).
 *
 * Fetches are coalesced per group (coalescer.ts) into batches that ride the peer's fetch stream
 * (fetch-stream.ts: one long-lived GetStream call, answers slot by slot as the owner has them),
 * or unary GetMany calls when `stream` is off or the peer has no GetStream. Each caller is one
 * promise; a response settles its callers in one loop (fetch-answers.ts). Hot-cache invalidations
 * and handoffs are coalesced the same way into Invalidate and Handoff calls.
 */
import * as grpc from '@grpc/grpc-js';
import type { NodeInfo } from '../cluster/membership.js';
import { PeerUnavailableError } from '../cluster/errors.js';
import type { FetchResult, PeerClient, PeerClientHooks, PeerClientStats } from '../cluster/peer.js';
import { batchOptions, type BatchOptions } from './batch-options.js';
import { Coalescer, type Batch } from './coalescer.js';
import { misfit, settleFrom, ValueSizes } from './fetch-answers.js';
import { FetchStream } from './fetch-stream.js';
import { SECRET_METADATA_KEY } from './auth.js';
import { backingOff, callError, failFastError, kindOf } from './status.js';
import { ItemStatus, type GetManyResult, type HandoffResult } from './wire/messages.js';
import { peerWireService, type PeerWireMethods } from './wire/service.js';

export interface GrpcPeerClientOptions {
  /** Channel credentials (shared by all peers); default insecure. See tls.ts. */
  credentials?: grpc.ChannelCredentials;
  /** Largest message sent or received. */
  maxMessageBytes: number;
  /** Coalescing (batch-options.ts); checked by the transport. */
  batch?: BatchOptions;
  /** Fetch over one long-lived stream per peer (true) or one unary GetMany per batch. Default true. */
  stream?: boolean;
  /** Channel options (merged last over the defaults here). */
  channelOptions?: grpc.ChannelOptions;
  hooks?: PeerClientHooks;
  /** Shared cluster secret sent with every call (auth.ts). */
  secret?: Uint8Array;
}

export interface GrpcPeerClientStats extends PeerClientStats {
  get: number;
  getMany: number;
  set: number;
  remove: number;
  invalidate: number;
  handoff: number;
  flush: number;
  /** Calls that failed with anything but NOT_FOUND (fetch streams included). */
  errors: number;
  /** Keys sent through the fetch coalescer and the batches they formed (stream frames or GetMany calls). */
  fetchedKeys: number;
  fetchBatches: number;
  /** Fetch streams opened. */
  streams: number;
}

/** How long a peer that answered UNIMPLEMENTED for GetStream is fetched from with GetMany before the stream is tried again (ms). */
const STREAM_RETRY_MS = 60_000;

export class GrpcPeerClient implements PeerClient {
  readonly peer: NodeInfo;
  /** fetch keeps the owner deadline itself: every answer of this peer, on any call, is seen here. */
  readonly ownerDeadlines = true;
  private readonly client: grpc.Client;
  private readonly methods: PeerWireMethods;
  private readonly fetcher: Coalescer<FetchResult>;
  private readonly invalidator: Coalescer<void>;
  private readonly handoffs: Coalescer<FetchResult | null>;
  private readonly stream: FetchStream | undefined;
  /** performance.now() until which the stream is not used (the peer answered UNIMPLEMENTED). */
  private streamOffUntil = 0;
  private readonly sizes = new ValueSizes();
  /** Batches whose TOO_LARGE keys are being fetched with Get: how many Gets run, and whether the peer is done with the rest. */
  private readonly tooLarge = new Map<Batch<FetchResult>, { pending: number; done: boolean }>();
  private readonly counters = {
    get: 0,
    getMany: 0,
    set: 0,
    remove: 0,
    invalidate: 0,
    handoff: 0,
    flush: 0,
    errors: 0,
    fetchedKeys: 0,
    fetchBatches: 0,
  };
  private closed = false;
  /**
   * Gets and invalidations are fail-fast; writes wait for the channel (re)connecting, within
   * their deadline: a peer that is starting or restarting takes the write once it listens instead
   * of failing it at once. A dead peer never costs a get or an invalidation a whole deadline.
   */
  private readonly failFastMeta: grpc.Metadata;
  private readonly waitForReadyMeta: grpc.Metadata;

  constructor(peer: NodeInfo, private readonly options: GrpcPeerClientOptions) {
    this.failFastMeta = callMetadata(options.secret, false);
    this.waitForReadyMeta = callMetadata(options.secret, true);
    this.peer = peer;
    this.methods = peerWireService();
    const max = options.maxMessageBytes;
    this.client = new grpc.Client(peer.grpcAddress, options.credentials ?? grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': max,
      'grpc.max_send_message_length': max,
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 2000,
      ...options.channelOptions,
    });
    // Connect now rather than on the first call.
    this.client.getChannel().getConnectivityState(true);
    const batch = { ...batchOptions(options.batch), peer: peer.id };
    this.fetcher = new Coalescer<FetchResult>(this.dispatchFetch, batch);
    this.invalidator = new Coalescer<void>(this.dispatchInvalidate, batch);
    this.handoffs = new Coalescer<FetchResult | null>(this.dispatchHandoff, batch);
    if (options.stream !== false) {
      this.stream = new FetchStream(this.client, this.failFastMeta, peer.id, {
        frame: this.onFrame,
        unsupported: this.onStreamUnsupported,
        failed: (err, refusable) => this.failure(err, refusable),
      });
    }
  }

  get id(): string {
    return this.peer.id;
  }

  /** Connectivity state of the channel: IDLE, CONNECTING, READY, TRANSIENT_FAILURE or SHUTDOWN. */
  state(): string {
    return grpc.connectivityState[this.client.getChannel().getConnectivityState(false)];
  }

  stats(): GrpcPeerClientStats {
    return { ...this.counters, streams: this.stream?.opened ?? 0 };
  }

  /**
   * One key, coalesced with concurrent fetches of the same group. Gives up after `ownerTimeoutMs`
   * in which the peer answered nothing at all (OwnerSilenceError), or at `timeoutMs`.
   */
  fetch(group: string, key: string, timeoutMs: number, ownerTimeoutMs?: number): Promise<FetchResult> {
    if (this.closed) return Promise.reject(this.closedError());
    return this.fetcher.enqueue(group, key, timeoutMs, this.sizes.expected(group), ownerTimeoutMs);
  }

  /** Drop a key from the peer's caches, coalesced with concurrent invalidations. */
  invalidate(group: string, key: string, timeoutMs: number): Promise<void> {
    if (this.closed) return Promise.reject(this.closedError());
    return this.invalidator.enqueue(group, key, timeoutMs);
  }

  /** The peer's copy of a key it gave up to this node, coalesced with concurrent handoffs. */
  handoff(group: string, key: string, timeoutMs: number): Promise<FetchResult | null> {
    if (this.closed) return Promise.reject(this.closedError());
    return this.handoffs.enqueue(group, key, timeoutMs);
  }

  /** One Get call (not coalesced): for values too large for a batch's response. */
  async get(group: string, key: string, timeoutMs: number): Promise<FetchResult> {
    this.counters.get++;
    try {
      return (await this.unary<{ value: Uint8Array }>(this.methods.Get, { group, key }, timeoutMs)).value;
    } catch (err) {
      if ((err as grpc.ServiceError).code === grpc.status.NOT_FOUND && !kindOf(err)) return undefined;
      throw callError(err, this.id);
    }
  }

  async set(group: string, key: string, value: Uint8Array, ttl: number | undefined, timeoutMs: number): Promise<void> {
    this.counters.set++;
    try {
      await this.unary(this.methods.Set, ttl === undefined ? { group, key, value } : { group, key, value, ttlMs: ttl }, timeoutMs, true);
    } catch (err) {
      throw callError(err, this.id);
    }
  }

  async remove(group: string, keys: readonly string[], timeoutMs: number): Promise<number> {
    this.counters.remove++;
    try {
      return (await this.unary<{ removed: number }>(this.methods.Remove, { group, keys }, timeoutMs, true)).removed;
    } catch (err) {
      throw callError(err, this.id);
    }
  }

  async invalidateMany(group: string, keys: readonly string[], timeoutMs: number): Promise<void> {
    this.counters.invalidate++;
    try {
      await this.unary(this.methods.Invalidate, { group, keys }, timeoutMs);
    } catch (err) {
      throw callError(err, this.id);
    }
  }

  /** Drop every entry of `group` on the peer (fail-fast, like invalidations); resolves with how many it held. */
  async flush(group: string, timeoutMs: number): Promise<number> {
    this.counters.flush++;
    try {
      return (await this.unary<{ dropped: number }>(this.methods.Flush, { group }, timeoutMs)).dropped;
    } catch (err) {
      throw callError(err, this.id);
    }
  }

  /** Send what is pending, then close the channel. Calls already running may finish. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.fetcher.flush();
    this.invalidator.flush();
    this.handoffs.flush();
    this.closed = true;
    this.stream?.close();
    this.client.close();
  }

  // ---------------------------------------------------------------- fetches

  private readonly dispatchFetch = (b: Batch<FetchResult>): void => {
    this.counters.fetchBatches++;
    this.counters.fetchedKeys += b.keys.length;
    this.options.hooks?.onBatch?.(b.group, b.keys.length);
    if (this.stream !== undefined && (this.streamOffUntil === 0 || performance.now() >= this.streamOffUntil)) {
      this.streamOffUntil = 0;
      this.stream.send(b);
    } else {
      this.sendGetMany(b);
    }
  };

  private sendGetMany(b: Batch<FetchResult>): void {
    this.counters.getMany++;
    const def = this.methods.GetMany;
    const refusable = backingOff(this.client);
    this.client.makeUnaryRequest(
      def.path,
      def.requestSerialize,
      def.responseDeserialize,
      { group: b.group, keys: b.keys },
      this.failFastMeta,
      { deadline: deadlineOf(b) },
      (err, r) => {
        if (err) return b.failAll(this.failure(err, refusable));
        this.fetcher.heard();
        const bad = misfit(b, r!, true, this.id);
        if (bad) return b.failAll(bad);
        this.answered(b, r!, true);
      },
    );
  }

  /** A frame of the fetch stream. */
  private readonly onFrame = (b: Batch<FetchResult>, r: GetManyResult, last: boolean): void => {
    this.fetcher.heard();
    const bad = misfit(b, r, false, this.id);
    if (bad) return b.failAll(bad);
    this.answered(b, r, last);
  };

  /** Settle what `r` answers; end the batch once the peer is done with it and no Get of a TOO_LARGE key runs. */
  private answered(b: Batch<FetchResult>, r: GetManyResult, last: boolean): void {
    const large = settleFrom(b, r, this.id, this.sizes);
    if (large !== undefined) this.fetchTooLarge(b, large, last);
    else if (last) {
      const t = this.tooLarge.get(b);
      if (t === undefined) b.end();
      else if (((t.done = true), t.pending === 0)) this.endTooLarge(b);
    }
  }

  /** Keys the peer could not fit in a response: one Get each, within what is left of the batch's deadline. */
  private fetchTooLarge(b: Batch<FetchResult>, slots: number[], last: boolean): void {
    let t = this.tooLarge.get(b);
    if (t === undefined) this.tooLarge.set(b, (t = { pending: 0, done: false }));
    t.pending += slots.length;
    if (last) t.done = true;
    const state = t;
    const timeoutMs = Math.max(1, Math.ceil(b.deadline - performance.now()));
    for (const slot of slots) {
      this.get(b.group, b.keys[slot]!, timeoutMs).then(
        (v) => b.settle(slot, v),
        (err: unknown) => b.fail(slot, err),
      ).finally(() => {
        if (--state.pending === 0 && state.done) this.endTooLarge(b);
      });
    }
  }

  private endTooLarge(b: Batch<FetchResult>): void {
    this.tooLarge.delete(b);
    b.end();
  }

  /** The peer has no GetStream (an older node): these batches, and the next ones for a while, go as GetMany. */
  private readonly onStreamUnsupported = (batches: Array<Batch<FetchResult>>): void => {
    this.streamOffUntil = performance.now() + STREAM_RETRY_MS;
    for (const b of batches) this.sendGetMany(b);
  };

  // ---------------------------------------------------------------- invalidations, handoffs

  private readonly dispatchInvalidate = (b: Batch<void>): void => {
    this.counters.invalidate++;
    const def = this.methods.Invalidate;
    const refusable = backingOff(this.client);
    this.client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, { group: b.group, keys: b.keys }, this.failFastMeta, { deadline: deadlineOf(b) }, (err) => {
      if (err) return b.failAll(this.failure(err, refusable));
      this.fetcher.heard();
      for (let i = 0; i < b.keys.length; i++) b.settle(i, undefined);
      b.end();
    });
  };

  private readonly dispatchHandoff = (b: Batch<FetchResult | null>): void => {
    this.counters.handoff++;
    const def = this.methods.Handoff;
    const refusable = backingOff(this.client);
    this.client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, { group: b.group, keys: b.keys }, this.failFastMeta, { deadline: deadlineOf(b) }, (err, r?: HandoffResult) => {
      if (err) return b.failAll(this.failure(err, refusable));
      this.fetcher.heard();
      // holds_nothing: null for every key. Otherwise FOUND is the value, anything else none (an
      // older node without Handoff answered UNIMPLEMENTED above).
      for (let i = 0; i < b.keys.length; i++) {
        b.settle(i, r!.holdsNothing ? null : i < r!.count && r!.status[i] === ItemStatus.FOUND ? r!.values[i]! : undefined);
      }
      b.end();
    });
  };

  // ---------------------------------------------------------------- helpers

  private unary<Res>(def: { path: string; requestSerialize: (v: never) => Buffer; responseDeserialize: (b: Buffer) => unknown }, req: unknown, timeoutMs: number, waitForReady = false): Promise<Res> {
    if (this.closed) return Promise.reject(this.closedError());
    const refusable = !waitForReady && backingOff(this.client);
    return new Promise<Res>((resolve, reject) => {
      try {
        this.client.makeUnaryRequest<unknown, Res>(
          def.path,
          def.requestSerialize as (v: unknown) => Buffer,
          def.responseDeserialize as (b: Buffer) => Res,
          req,
          waitForReady ? this.waitForReadyMeta : this.failFastMeta,
          { deadline: Date.now() + timeoutMs },
          (err, res) => {
            if (err) {
              if (err.code !== grpc.status.NOT_FOUND || kindOf(err)) return reject(this.failure(err, refusable));
              this.fetcher.heard();
              reject(err);
            } else {
              this.fetcher.heard();
              resolve(res as Res);
            }
          },
        );
      } catch (err) {
        this.counters.errors++;
        reject(err);
      }
    });
  }

  /**
   * A call failed: counted, and mapped to the cluster's error. A failure the peer answered with (a
   * status of its own, not unreachable or a deadline) still shows it is alive (`heard`).
   * `refusable`: a fail-fast call made while the channel was backing off — if grpc-js refused it
   * unsent, it is a NotConnectedError (not a miss for the breaker).
   */
  private failure(err: unknown, refusable = false): Error {
    this.counters.errors++;
    const e = failFastError(err, this.id, refusable);
    if (!(e instanceof PeerUnavailableError) || (e.reason !== 'timeout' && e.reason !== 'unreachable')) this.fetcher.heard();
    return e;
  }

  private closedError(): PeerUnavailableError {
    return new PeerUnavailableError(`peer ${this.id}: client closed`, this.id, 'unreachable');
  }
}

/** A batch's RPC deadline (wall clock) from its latest caller's deadline (performance clock). */
function deadlineOf(b: { readonly deadline: number }): number {
  return Date.now() + Math.max(0, b.deadline - performance.now());
}

/** Metadata for every call: the cluster secret, if any, and waitForReady as given. */
function callMetadata(secret: Uint8Array | undefined, waitForReady: boolean): grpc.Metadata {
  const md = new grpc.Metadata(waitForReady ? { waitForReady: true } : undefined);
  if (secret !== undefined) md.set(SECRET_METADATA_KEY, Buffer.from(secret));
  return md;
}
