/**
 * What the cluster needs from a transport between nodes, and what it offers it.
 *
 * The cluster knows nothing of the wire: a transport (src/transport, gRPC) implements
 * `PeerTransport` and `PeerClient`, and calls the cluster's groups through `PeerHandler` /
 * `ServedGroup`. Dependencies point one way: transport → cluster.
 *
 *     Cluster ──listen(handler)──▶ PeerTransport ──requests from peers──▶ PeerHandler → ServedGroup
 *        │                              │
 *        └──connect(node)───────────────┴──▶ PeerClient (one per member) ──calls──▶ the member
 *
 * Errors: every method rejects with the cluster's own error classes (src/cluster/errors.ts): a
 * failure to reach the peer is a `PeerUnavailableError` (with its `reason`); an error the peer
 * answered with arrives as the class it had there (LoaderError, DeadlineError, GroupError, …).
 */
import type { NodeInfo } from './membership.js';
import type { NotFound } from './types.js';

/** A fetched key: its bytes, or undefined when the owner says it does not exist. */
export type FetchResult = Uint8Array | undefined;

/** A client for one peer: opened when the peer joins the ring, closed when it leaves. */
export interface PeerClient {
  readonly peer: NodeInfo;
  readonly id: string;
  /**
   * One key from its owner (the transport may coalesce concurrent fetches into one call). With
   * `ownerDeadlines`, it also gives up — PeerUnavailableError, reason `timeout` — once the peer has
   * answered nothing at all, this call or any other, for `ownerTimeoutMs`.
   */
  fetch(group: string, key: string, timeoutMs: number, ownerTimeoutMs?: number): Promise<FetchResult>;
  /**
   * True when `fetch` keeps the owner deadline itself (the transport sees every answer of the
   * peer, so it needs no timer per call). Otherwise the cluster keeps it around each fetch.
   */
  readonly ownerDeadlines?: boolean;
  /**
   * Handoff: the peer's copy of a key it owned until a recent ring change gave the key to this node
   * (undefined: it holds none; null: it holds nothing to hand over for any key). Cache only, never
   * loads (the transport may coalesce these too).
   */
  handoff(group: string, key: string, timeoutMs: number): Promise<FetchResult | null>;
  /** Store a value on the owner (which then invalidates every other node). */
  set(group: string, key: string, value: Uint8Array, ttl: number | undefined, timeoutMs: number): Promise<void>;
  /** Delete keys on their owner; resolves with how many existed there. */
  remove(group: string, keys: readonly string[], timeoutMs: number): Promise<number>;
  /** Drop a key from the peer's caches (may be coalesced with concurrent invalidations). */
  invalidate(group: string, key: string, timeoutMs: number): Promise<void>;
  /** Drop keys from the peer's caches in one call. */
  invalidateMany(group: string, keys: readonly string[], timeoutMs: number): Promise<void>;
  /** Drop every entry of a group from the peer's caches; resolves with how many it held. */
  flush(group: string, timeoutMs: number): Promise<number>;
  /** Connection state for stats (`READY`, `CONNECTING`, …; transport-defined). */
  state(): string;
  /** Call counters for stats (transport-defined names). */
  stats(): PeerClientStats;
  /** Send what is pending, then close. Calls already running may finish. Idempotent. */
  close(): void;
}

export interface PeerClientStats {
  [counter: string]: number;
}

/** One group as the transport serves it to peers. Every method may throw an ArenaCacheError. */
export interface ServedGroup {
  /** Throws InvalidArgumentError when the key is not acceptable for this group. */
  checkKey(key: string): void;
  /** Throws InvalidArgumentError when the value is larger than the group accepts. */
  checkValue(value: Uint8Array): void;
  /** Answer locally: caches, then this node's loader; never forwarded. undefined = not found. */
  serveGet(key: string): Promise<Uint8Array | undefined>;
  /**
   * Synchronous cache answer: bytes, NOT_FOUND (a cached not-found), or undefined when the key
   * needs serveLoad (or serveGet, if the group is not serving yet).
   */
  serveCached?(key: string): Uint8Array | NotFound | undefined;
  /**
   * Like serveCached, but the bytes may be a view that the next call on this group overwrites
   * (the cache's own I/O area): copy them at once. Saves the copy serveCached makes.
   */
  serveCachedView?(key: string): Uint8Array | NotFound | undefined;
  serveLoad?(key: string): Promise<Uint8Array | undefined>;
  /** Store as owner, then invalidate on every other node. */
  serveSet(key: string, value: Uint8Array, ttl: number | undefined): Promise<void>;
  /** Delete as owner, then invalidate on every other node. Returns how many existed here. */
  serveRemove(keys: string[]): Promise<number>;
  /** Drop the keys from this node's caches. */
  serveInvalidate(keys: string[]): void;
  /** Drop every entry of the group from this node's caches; returns how many there were. */
  serveFlush(): number;
  /** This node's copy of a key it gave up to the asking node (handoff); undefined: none. Never loads. */
  serveHandoff?(key: string): Uint8Array | undefined;
}

/** The cluster as the transport's server sees it. */
export interface PeerHandler {
  /** The group, or undefined when this node has none of that name. May throw ClosedError. */
  group(name: string): ServedGroup | undefined;
  /**
   * Whether this node gave up keys recently or owns any of `keys` — if not, it has nothing to
   * hand over to anyone. Optional (a transport without it never says "nothing").
   */
  mayHandOver?(keys: readonly string[]): boolean;
}

/** Limits the cluster imposes on every transport message. */
export interface TransportLimits {
  /** Largest value any group holds; messages are sized from it. */
  maxValueBytes: number;
}

/** Hooks the cluster gives each peer client. */
export interface PeerClientHooks {
  /** A coalesced fetch of `size` keys of `group` was sent. */
  onBatch?(group: string, size: number): void;
}

export interface MethodCounters {
  calls: number;
  keys: number;
}

/** Counters of what this node served to peers: calls and keys per request kind, failures by status. */
export interface ServerStats {
  get: MethodCounters;
  getMany: MethodCounters;
  /** Batches received on fetch streams (calls = batches, keys = their keys). */
  stream: MethodCounters;
  set: MethodCounters;
  remove: MethodCounters;
  invalidate: MethodCounters;
  handoff: MethodCounters;
  flush: MethodCounters;
  /** Failed calls by status name (transport-defined; NOT_FOUND included). */
  errors: Record<string, number>;
}

/** A way for nodes to talk to each other: a server for this node and one client per peer. */
export interface PeerTransport {
  /** Bind and serve `handler`. Resolves with the address peers dial (`host:port`). */
  listen(handler: PeerHandler, limits: TransportLimits): Promise<string>;
  /** A client for `node` (connects at once). Only after listen(). */
  connect(node: NodeInfo, hooks?: PeerClientHooks): PeerClient;
  /** Health as peers and load balancers see it: serving (true) once started, not serving while stopping. */
  setServing(serving: boolean): void;
  stats(): ServerStats;
  /** Stop serving; running calls get the transport's grace period, then are cut. Idempotent. */
  close(): Promise<void>;
}
