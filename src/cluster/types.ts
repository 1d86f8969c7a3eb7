/**
 * Public types of the cluster layer.
 */
import type { ArenaCacheOptions, ByteCache } from '../core/types.js';

/**
 * What a loader returns to say "this key does not exist". The group caches it for
 * `notFoundTtl` and reports it as not-found (`get` → undefined), never as an error.
 */
export const NOT_FOUND: unique symbol = Symbol.for('arenacache.notFound');
export type NotFound = typeof NOT_FOUND;

export interface LoadContext {
  /** Aborted when the load's deadline passes or the cluster closes; pass it to your I/O. */
  signal: AbortSignal;
  /** Group name. */
  group: string;
  /** Absolute deadline, ms since the epoch (Date.now() clock). */
  deadline: number;
}

export type LoadResult = Uint8Array | string | NotFound;

/**
 * Loads one key from the source of truth. Return bytes (a string is stored as UTF-8), or
 * `NOT_FOUND`; throw (or reject) for errors. Anything else (undefined, null, numbers…) is a
 * LoaderError: a forgotten `return` must not be cached as "not found".
 */
export type Loader = (key: string, ctx: LoadContext) => Promise<LoadResult> | LoadResult;

export interface GroupOptions {
  /** Byte budget of the group: main cache + hot cache. Required. */
  maxBytes: number;
  load: Loader;
  /** Default TTL (ms) of loaded and set values; 0 = none. Default 0. */
  ttl?: number;
  /** TTL (ms) of a cached not-found result; 0 = do not cache not-found. Default 1000. */
  notFoundTtl?: number;
  /** Share of `maxBytes` given to the hot cache, 0..0.5; 0 disables it. Default 1/8. */
  hotCacheFraction?: number;
  /**
   * TTL (ms) of hot-cache entries: copies of values fetched from their owner. Bounds how long a
   * copy can outlive a lost invalidation, even when `ttl` is 0. Default min(ttl, 60 s), or 60 s.
   */
  hotTtl?: number;
  /**
   * TTL (ms) of what this node loads for a key it does not own: when the owner could not be
   * reached (fallback), or when a peer asked this node for a key its own ring gives to another
   * node. Short, so such a copy does not outlive the owner's return by long. Default
   * min(hotTtl, 2 s).
   */
  fallbackTtl?: number;
  /** Fetches of a key from its owner before it is admitted to the hot cache. Default 2; 1 = always. */
  hotAfter?: number;
  /** Loader deadline in ms. Default 5000. */
  loadTimeout?: number;
  /** Deadline (ms) of one RPC to a peer (fetch, set, remove, invalidate). Default loadTimeout + 1000. */
  peerTimeout?: number;
  /**
   * Longest a get waits for a key's owner that answers nothing at all (this call or any other)
   * before loading the key itself; also the deadline of invalidations and handoff pulls. Far
   * below `loadTimeout`: a hung owner costs a get at most this; an owner busy with a slow load
   * (answering other calls meanwhile) is waited for, up to `peerTimeout`. Default: the cluster's
   * `ownerTimeout` (1000 ms).
   */
  ownerTimeout?: number;
  /** When the owner cannot be reached, load locally (true) or fail with PeerUnavailableError. Default true. */
  fallbackToLocalLoad?: boolean;
  /** Longest key in UTF-8 bytes. Default: the cache's (1024 for ArenaCache). */
  maxKeyBytes?: number;
  /** Largest value in bytes. Default: what the cache and the cluster's message limit allow. */
  maxValueBytes?: number;
  /** ArenaCache segments (power of two) of the main cache. */
  segments?: number;
}

/** Where a get's answer came from. */
export type ResultSource =
  | 'main' // this node's main cache
  | 'hot' // this node's hot cache
  | 'load' // this node ran the loader (it owns the key, or a peer asked it to)
  | 'peer' // fetched from the owner
  | 'handoff' // this node owns the key since a recent membership change; the previous owner handed it over
  | 'fallback'; // the owner could not be reached; this node ran the loader

export type GetResult =
  | { readonly found: true; readonly value: Uint8Array; readonly source: ResultSource }
  | { readonly found: false; readonly value: undefined; readonly source: ResultSource };

export interface GetOptions {
  /** Stop waiting when this signal aborts (the shared load/fetch continues for other callers). */
  signal?: AbortSignal;
}

export interface SetOptions {
  /** TTL in ms; 0 = never expires; omitted = the group's `ttl`. */
  ttl?: number;
}

/** Upper bounds of the batch-size histogram buckets (last bucket: everything above). */
export const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256] as const;

export interface GroupStats {
  name: string;
  /** Calls of get/getResult/getMany (per key). */
  gets: number;
  /** Answered from the main cache (values and cached not-found). */
  hits: number;
  /** Answered from the hot cache. */
  hotHits: number;
  /** Neither cache had it. */
  misses: number;
  /** Gets that joined an in-flight load or fetch of the same key (singleflight). */
  coalesced: number;
  /** Loader runs on this node. */
  loads: number;
  /** Loader runs that threw/rejected/returned garbage. */
  loadErrors: number;
  /** Loader runs that passed their deadline. */
  loadTimeouts: number;
  /** Gets answered "not found" (from any source). */
  notFound: number;
  /** Keys fetched from their owner (one per fetch flight). */
  peerFetches: number;
  /** Fetches that failed because the owner could not answer (unreachable, deadline, unknown group). */
  peerErrors: number;
  /** Fetches whose owner answered with an error (its loader failed or timed out). */
  remoteErrors: number;
  /** Owner unreachable → loaded locally. */
  localFallbacks: number;
  /** Get/GetMany RPCs this node sent for this group (coalesced batches). */
  batches: number;
  /** Keys carried by those batches. */
  batchedKeys: number;
  maxBatchSize: number;
  /** Batch-size histogram, counts per BATCH_SIZE_BUCKETS bound (+1 overflow bucket). */
  batchSizes: number[];
  /** Values admitted to the hot cache. */
  hotAdmissions: number;
  /** Keys dropped from this node's caches because the owner said so (Set/Remove elsewhere). */
  hotInvalidations: number;
  /** Invalidate keys sent to peers by this node as owner, and those that failed. */
  invalidationsSent: number;
  invalidationErrors: number;
  sets: number;
  removes: number;
  /** Keys served to peers (Get/GetMany received). */
  servedKeys: number;
  /** Results not stored because a Set/Remove/invalidation (or a ring change) overtook the load or fetch. */
  staleDrops: number;
  /**
   * Main-cache entries not served because this node has not owned their key continuously since
   * they were stored (it lost and regained the key, or was dropped by the other nodes meanwhile).
   */
  staleOwnerEntries: number;
  /** Keys this node took over from their previous owner after a membership change (handoff pulls that found a value). */
  handoffsIn: number;
  /** Keys this node handed over to their new owner. */
  handoffsOut: number;
  /** Writes that met a node whose ring gave the key to another node, and were routed again. */
  writeReroutes: number;
  /** Flushes of the group this node applied (its own and those its peers asked for). */
  flushes: number;
  main: { entries: number; bytes: number; maxBytes: number };
  hot: { entries: number; bytes: number; maxBytes: number };
}

/** One node's part of a flush (`Group.flush`). */
export interface FlushResult {
  /** The node's id. */
  id: string;
  self: boolean;
  /** Whether the node dropped the group's entries. */
  ok: boolean;
  /** Entries it dropped (main and hot cache). */
  dropped: number;
  /** Why it did not (unreachable, suspect, no such group…); undefined when ok. */
  error?: Error;
}

/** One value of `Group.setMany`. */
export interface SetManyItem {
  key: string;
  value: Uint8Array | string;
  /** TTL in ms; 0 = never expires; omitted = the group's `ttl`. */
  ttl?: number;
}

export interface SetManyResult {
  /** Items stored on their owners. */
  stored: number;
  /** Items that were not stored (their owner could not be reached, or did not take them), by index. */
  failed: Array<{ index: number; key: string; error: Error }>;
}

/**
 * A cache that can write and read snapshots and be iterated (ArenaCache can): what a group needs
 * for warm restarts and key listings. Other ByteCaches work in groups, without those.
 */
export interface SnapshotCache extends ByteCache {
  dumpChunks(): Iterable<Uint8Array>;
  loadChunks(chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<{ loaded: number; expired: number; skipped: number; overflow: number }>;
  entries(): Iterable<[Uint8Array, Uint8Array]>;
}

/** Creates a group's cache. Default: `ArenaCache.create`. */
export type CacheFactory = (options: ArenaCacheOptions) => Promise<ByteCache> | ByteCache;
