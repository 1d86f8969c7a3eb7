/**
 * The gRPC client for one peer (implements the cluster's PeerClient): one persistent channel
 * (created when the peer joins, closed when it leaves), deadlines on every call, failures mapped to
 * the cluster's error classes (status.ts), and coalescing of concurrent fetches (→ GetMany) and
 * hot-cache invalidations (→ Invalidate) per group.
 */
import * as grpc from '@grpc/grpc-js';
import type { NodeInfo } from '../cluster/membership.js';
import { PeerUnavailableError } from '../cluster/errors.js';
import type { FetchResult, PeerClient, PeerClientHooks, PeerClientStats } from '../cluster/peer.js';
import { KeyBatcher, type BatcherOptions } from './batcher.js';
import {
  peerService,
  type GetManyItem,
  type GetManyResponse,
  type FlushResponse,
  type GetResponse,
  type HandoffResponse,
  type PeerMethods,
  type RemoveResponse,
} from './proto.js';
import { SECRET_METADATA_KEY } from './auth.js';
import { callError, errorFromStatus, kindOf } from './status.js';

export interface GrpcPeerClientOptions {
  /** Channel credentials (shared by all peers); default insecure. See tls.ts. */
  credentials?: grpc.ChannelCredentials;
  /** Largest message sent or received. */
  maxMessageBytes: number;
  batch?: BatcherOptions;
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
  /** Calls that failed with anything but NOT_FOUND. */
  errors: number;
  /** Keys sent through the fetch batcher and the batches they formed. */
  fetchedKeys: number;
  fetchBatches: number;
}

export class GrpcPeerClient implements PeerClient {
  readonly peer: NodeInfo;
  private readonly client: grpc.Client;
  private readonly methods: PeerMethods;
  private readonly fetcher: KeyBatcher<FetchResult>;
  private readonly invalidator: KeyBatcher<void>;
  private readonly handoffs: KeyBatcher<FetchResult | null>;
  private readonly counters: GrpcPeerClientStats = {
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
    this.methods = peerService();
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
    this.fetcher = new KeyBatcher<FetchResult>(this.sendFetchBatch, options.batch);
    this.invalidator = new KeyBatcher<void>(this.sendInvalidateBatch, options.batch);
    this.handoffs = new KeyBatcher<FetchResult | null>(this.sendHandoffBatch, options.batch);
  }

  get id(): string {
    return this.peer.id;
  }

  /** Connectivity state of the channel: IDLE, CONNECTING, READY, TRANSIENT_FAILURE or SHUTDOWN. */
  state(): string {
    return grpc.connectivityState[this.client.getChannel().getConnectivityState(false)];
  }

  stats(): GrpcPeerClientStats {
    return { ...this.counters };
  }

  /** Fetch one key through the batcher (coalesced with concurrent fetches of the same group). */
  fetch(group: string, key: string, timeoutMs: number): Promise<FetchResult> {
    if (this.closed) return Promise.reject(this.closedError());
    return this.fetcher.enqueue(group, key, timeoutMs);
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

  /** One Get call (not batched). */
  async get(group: string, key: string, timeoutMs: number): Promise<FetchResult> {
    this.counters.get++;
    try {
      const res = await this.unary<GetResponse>('Get', { group, key: Buffer.from(key, 'utf8') }, timeoutMs);
      return res.value;
    } catch (err) {
      if ((err as grpc.ServiceError).code === grpc.status.NOT_FOUND && !kindOf(err)) return undefined;
      throw this.mapError(err);
    }
  }

  /** One GetMany call: per-key results in order (an Error = that key failed). */
  async getMany(group: string, keys: readonly string[], timeoutMs: number): Promise<Array<FetchResult | Error>> {
    this.counters.getMany++;
    const raw = new Array<Buffer>(keys.length);
    for (let i = 0; i < keys.length; i++) raw[i] = Buffer.from(keys[i]!, 'utf8');
    let res: GetManyResponse;
    try {
      res = await this.unary<GetManyResponse>('GetMany', { group, keys: raw }, timeoutMs);
    } catch (err) {
      throw this.mapError(err);
    }
    const items = res.items;
    if (items.length !== keys.length) {
      throw new PeerUnavailableError(
        `peer ${this.id}: GetMany answered ${items.length} items for ${keys.length} keys`,
        this.id,
        'protocol',
      );
    }
    const out = new Array<FetchResult | Error>(keys.length);
    let tooLarge: number[] | undefined;
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      switch (it.status) {
        case 'FOUND':
          out[i] = it.value ?? new Uint8Array(0);
          break;
        case 'NOT_FOUND':
          out[i] = undefined;
          break;
        case 'TOO_LARGE':
          (tooLarge ??= []).push(i);
          break;
        default:
          out[i] = itemError(it, this.id);
      }
    }
    if (tooLarge) {
      await Promise.all(
        tooLarge.map((i) =>
          this.get(group, keys[i]!, timeoutMs).then(
            (v) => {
              out[i] = v;
            },
            (e: unknown) => {
              out[i] = e instanceof Error ? e : new Error(String(e));
            },
          ),
        ),
      );
    }
    return out;
  }

  async set(group: string, key: string, value: Uint8Array, ttl: number | undefined, timeoutMs: number): Promise<void> {
    this.counters.set++;
    const req: Record<string, unknown> = { group, key: Buffer.from(key, 'utf8'), value };
    if (ttl !== undefined) req.ttlMs = ttl;
    try {
      await this.unary('Set', req, timeoutMs, true);
    } catch (err) {
      throw this.mapError(err);
    }
  }

  async remove(group: string, keys: readonly string[], timeoutMs: number): Promise<number> {
    this.counters.remove++;
    try {
      const res = await this.unary<RemoveResponse>(
        'Remove',
        { group, keys: keys.map((k) => Buffer.from(k, 'utf8')) },
        timeoutMs,
        true,
      );
      return res.removed;
    } catch (err) {
      throw this.mapError(err);
    }
  }

  async invalidateMany(group: string, keys: readonly string[], timeoutMs: number): Promise<void> {
    this.counters.invalidate++;
    try {
      await this.unary('Invalidate', { group, keys: keys.map((k) => Buffer.from(k, 'utf8')) }, timeoutMs);
    } catch (err) {
      throw this.mapError(err);
    }
  }

  /** Drop every entry of `group` on the peer (fail-fast, like invalidations); resolves with how many it held. */
  async flush(group: string, timeoutMs: number): Promise<number> {
    this.counters.flush++;
    try {
      const res = await this.unary<FlushResponse>('Flush', { group }, timeoutMs);
      return res.dropped;
    } catch (err) {
      throw this.mapError(err);
    }
  }

  /** Send what is pending, then close the channel. Calls already running may finish. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.fetcher.flush();
    this.invalidator.flush();
    this.handoffs.flush();
    this.closed = true;
    this.client.close();
  }

  // ---------------------------------------------------------------- internals

  private readonly sendFetchBatch = async (
    group: string,
    keys: string[],
    timeoutMs: number,
  ): Promise<Array<FetchResult | Error>> => {
    this.counters.fetchBatches++;
    this.counters.fetchedKeys += keys.length;
    this.options.hooks?.onBatch?.(group, keys.length);
    if (keys.length === 1) {
      try {
        return [await this.get(group, keys[0]!, timeoutMs)];
      } catch (err) {
        return [err instanceof Error ? err : new Error(String(err))];
      }
    }
    return this.getMany(group, keys, timeoutMs);
  };

  private readonly sendHandoffBatch = async (group: string, keys: string[], timeoutMs: number): Promise<Array<FetchResult | null>> => {
    this.counters.handoff++;
    let res: HandoffResponse;
    try {
      res = await this.unary<HandoffResponse>('Handoff', { group, keys: keys.map((k) => Buffer.from(k, 'utf8')) }, timeoutMs);
    } catch (err) {
      throw this.mapError(err);
    }
    if (res.holdsNothing) return keys.map(() => null);
    // Anything but FOUND (an older node without Handoff answers UNIMPLEMENTED, caught above): none.
    return keys.map((_, i) => {
      const it = res.items[i];
      return it?.status === 'FOUND' ? (it.value ?? new Uint8Array(0)) : undefined;
    });
  };

  private readonly sendInvalidateBatch = async (group: string, keys: string[], timeoutMs: number): Promise<void[]> => {
    await this.invalidateMany(group, keys, timeoutMs);
    return new Array<void>(keys.length);
  };

  private unary<Res>(method: keyof PeerMethods, req: unknown, timeoutMs: number, waitForReady = false): Promise<Res> {
    if (this.closed) return Promise.reject(this.closedError());
    const def = this.methods[method] as unknown as {
      path: string;
      requestSerialize: (v: unknown) => Buffer;
      responseDeserialize: (b: Buffer) => Res;
    };
    return new Promise<Res>((resolve, reject) => {
      try {
        this.client.makeUnaryRequest<unknown, Res>(
          def.path,
          def.requestSerialize,
          def.responseDeserialize,
          req,
          waitForReady ? this.waitForReadyMeta : this.failFastMeta,
          { deadline: Date.now() + timeoutMs },
          (err, res) => {
            if (err) {
              if (err.code !== grpc.status.NOT_FOUND || kindOf(err)) this.counters.errors++;
              reject(err);
            } else {
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

  private mapError(err: unknown): Error {
    return callError(err, this.id);
  }

  private closedError(): PeerUnavailableError {
    return new PeerUnavailableError(`peer ${this.id}: client closed`, this.id, 'unreachable');
  }
}

function itemError(it: GetManyItem, peerId: string): Error {
  return errorFromStatus(it.code ?? grpc.status.UNKNOWN, it.kind || undefined, it.message || 'error', peerId);
}

/** Metadata for every call: the cluster secret, if any, and waitForReady as given. */
function callMetadata(secret: Uint8Array | undefined, waitForReady: boolean): grpc.Metadata {
  const md = new grpc.Metadata(waitForReady ? { waitForReady: true } : undefined);
  if (secret !== undefined) md.set(SECRET_METADATA_KEY, Buffer.from(secret));
  return md;
}
