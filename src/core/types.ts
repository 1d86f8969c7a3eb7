/**
 * Public types of the core host layer. Runtime-agnostic: nothing here may import `node:*`.
 */

/** A key: a string (encoded as UTF-8) or raw bytes. */
export type Key = string | Uint8Array;
/** A value: raw bytes, or a string stored as UTF-8. */
export type Value = Uint8Array | string;

/**
 * Why an entry left the cache, as reported to `onEvict`: evicted to make room, expired, deleted,
 * or replaced by a `set` (its old value). 'delete' and 'set' are reported only when asked for
 * with `disposeReasons`.
 */
export type EvictReason = 'evict' | 'expire' | 'delete' | 'set';

/**
 * The eviction policy of an arena (docs/design.md compares them): 'lru' exact least recently used;
 * 'clock' FIFO with second chance (a hit writes one bit, no list links); 's3fifo' S3-FIFO (small
 * and main FIFO queues and a ghost filter: scan- and one-hit-wonder resistant).
 */
export type EvictionPolicy = 'lru' | 'clock' | 's3fifo';

/** Where the core's WebAssembly comes from; defaults to the bytes inlined at build time. */
export type WasmSource = BufferSource | WebAssembly.Module | URL | string | Response | Promise<Response>;

export interface ArenaCacheOptions {
  /** Memory for entries and index, in bytes (the arena's budget). Required. */
  maxBytes: number;
  /**
   * The most entries the cache holds (like lru-cache's `max`), split evenly over the segments
   * (each holds floor(maxEntries / segments)); it also sizes the index. Without `segments`, fewer
   * segments are used for small limits. Default: no bound beyond an index of one entry per 64
   * bytes of maxBytes, so entries smaller than that on average are limited by count.
   */
  maxEntries?: number;
  /** The eviction policy. Default 's3fifo' (docs/design.md says why). */
  policy?: EvictionPolicy;
  /**
   * The arena's 128-bit hash key. Default: 16 random bytes (crypto.getRandomValues), so keys from
   * the internet cannot be chosen to collide. Fix it (16 bytes, or 4 u32 words) for reproducible
   * layouts in tests.
   */
  seed?: Uint8Array | readonly [number, number, number, number];
  /**
   * Touch every page of the arena at creation, so the first writes do not pay page faults
   * (an arena of N bytes costs about N / 4096 faults once). Default false.
   */
  prefault?: boolean;
  /**
   * Which removals onEvict hears. Default ['evict', 'expire']; add 'delete' and 'set' (a replaced
   * value) as lru-cache's dispose does. clear() is never reported.
   */
  disposeReasons?: readonly EvictReason[];
  /** Number of segments: a power of two, 1..1024. Default 16. */
  segments?: number;
  /** Default time-to-live in milliseconds for entries set without `ttl`; 0 = none. Default 0. */
  ttl?: number;
  /** Longest key in bytes. Default 1024. */
  maxKeyBytes?: number;
  /** Largest value in bytes; capped by what one segment can hold. Default min(segment capacity, 1 MiB); it also sizes each thread's I/O area. */
  maxValueBytes?: number;
  /**
   * Called for every entry the cache evicts or expires (and deletes or replaces, with
   * disposeReasons; never for clear), in the order
   * they left, once the call that removed them is done with the core: it may call any method of
   * the cache. If it throws, the remaining records are still delivered, then the first error is
   * rethrown by the call.
   */
  onEvict?: (key: Uint8Array, value: Uint8Array, reason: EvictReason) => void;
  /** Clock in milliseconds; defaults to `Date.now`. Tests pass a controlled clock. */
  clock?: () => number;
  /** Background TTL sweep: one segment every sweepIntervalMs / segments ms; 0 disables. Default 1000. */
  sweepIntervalMs?: number;
  /** The core module: bytes, a compiled module, a URL or a fetch Response. */
  wasm?: WasmSource;
  /**
   * Loads the value of a key `fetch` misses (like lru-cache's fetchMethod): called with the key (as
   * the first caller gave it), the stale value if there is one, and a context whose `signal`
   * fires when every caller waiting has given up; return the value, or undefined for "none" (not
   * stored). At most one load per key runs at a time. Not with `attach`.
   */
  fetchMethod?: FetchMethod;
  /**
   * ms a value stored with a TTL by `fetch` is kept past its TTL, to be served stale while one
   * load refreshes it (`allowStale`); fetch also counts the last `staleWindow` ms of any entry's TTL
   * as stale. Needs `fetchMethod`. Default 0: an entry is gone when its TTL is.
   */
  staleWindow?: number;
  /** Default of `fetch`'s `allowStale`: serve a stale value at once while it is refreshed. Default false. */
  allowStale?: boolean;
}

/** What a fetchMethod gets besides the key and the stale value. */
export interface FetchContext {
  /** Fires when every caller waiting for this load has aborted (and none serves a stale value meanwhile). */
  readonly signal: AbortSignal;
  /** The TTL the value will be stored with (the call's `ttl`; undefined: the cache's default). The fetchMethod may set it. */
  ttl: number | undefined;
  /** The `context` of the fetch call that started the load. */
  readonly context: unknown;
}

export type FetchMethod = (
  key: Key, staleValue: Uint8Array | undefined, ctx: FetchContext,
) => Value | undefined | Promise<Value | undefined>;

export interface FetchOptions {
  /** Gives up waiting: this call rejects with the signal's reason (the load goes on for other callers). */
  signal?: AbortSignal;
  /** TTL in ms for the value loaded (0 = never expires); default the cache's `ttl`. */
  ttl?: number;
  /** Serve a stale value at once while one load refreshes it. Default the cache's `allowStale`. */
  allowStale?: boolean;
  /** Load even if a fresh value is cached (a stale one is still served with allowStale). */
  forceRefresh?: boolean;
  /** Passed to the fetchMethod as `ctx.context` (by the call that starts the load). */
  context?: unknown;
}

export interface SetOptions {
  /** Time-to-live in ms for this entry; 0 = never expires; omitted = the cache's default TTL. */
  ttl?: number;
}

/** Counters and sizes of one segment (or of the whole cache, summed). */
export interface SegmentStats {
  entries: number;
  /** Bytes charged to live entries (header + key + value, 4-aligned). */
  bytesUsed: number;
  /** Bytes of live entries the segment may hold. */
  budget: number;
  /** Bytes of entry storage of the segment. */
  region: number;
  /** Entries the segment may hold. */
  maxEntries: number;
  /** Bytes of storage in use, live and removed entries alike (removed ones are reclaimed in order). */
  logBytes: number;
  /** s3fifo: entries and live bytes in the small queue. */
  smallEntries: number;
  smallBytes: number;
  hits: number;
  misses: number;
  sets: number;
  deletes: number;
  evictions: number;
  expirations: number;
  /** Entries the core refused as too large (ArenaCache refuses them itself, before the core: 0 here). */
  rejected: number;
  /** Entries moved inside their segment (second chances, s3fifo promotions, lru cleaning). */
  moves: number;
  /** Segments reset because the thread holding their lock died. */
  recoveries: number;
  /** Evictions forced by a full index neighbourhood (expected 0). */
  indexEvictions: number;
  /** s3fifo: new keys admitted straight to the main queue by the ghost filter. */
  ghostHits: number;
  /** Completed TTL sweep passes. */
  sweepPasses: number;
}

export interface CacheStats extends SegmentStats {
  segments: SegmentStats[];
  policy: EvictionPolicy;
  /** Total linear memory of the arena (header, index, regions, I/O areas). */
  memoryBytes: number;
  /** hits / (hits + misses), 0 when nothing was read. */
  hitRatio: number;
  /** (logBytes - bytesUsed) / logBytes: storage held by removed entries not yet reclaimed. */
  fragmentation: number;
}

/** What `info(key)` tells about an entry. */
export interface EntryInfo {
  /** Bytes of the value. */
  size: number;
  /** Bytes the entry is charged. */
  cost: number;
  /** Milliseconds until it expires (0 = no expiry). */
  remainingTTL: number;
  /** When it expires on the cache's clock (0 = never). */
  expiresAt: number;
}

/** A snapshot as a stream of chunks: an iterable or async iterable of Uint8Arrays (a Node Readable is one). */
export type ChunkSource = Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/** A snapshot: its bytes, a stream of its chunks, or a function opening such a stream (read twice: checked, then loaded). */
export type SnapshotSource = Uint8Array | ChunkSource | (() => ChunkSource);

/**
 * What the cluster layer needs from a cache. `ArenaCache` implements it; tests may use it too.
 */
export interface ByteCache {
  get(key: Key): Uint8Array | undefined;
  /**
   * Optional: like get, but a view valid only until the next call on this cache (no copy of its
   * own; ArenaCache.getView). The peer server copies it straight into the outgoing message.
   */
  getView?(key: Key): Uint8Array | undefined;
  peek(key: Key): Uint8Array | undefined;
  has(key: Key): boolean;
  set(key: Key, value: Value, options?: SetOptions): this;
  delete(key: Key): boolean;
  clear(): void;
  readonly size: number;
  readonly bytes: number;
  readonly maxKeyBytes: number;
  readonly maxValueBytes: number;
  /** The largest value storable under a key of `keyBytes` bytes. */
  maxValueFor(keyBytes: number): number;
  /** What an entry with these key and value sizes costs. */
  entryCost(keyBytes: number, valueBytes: number): number;
  stats(): CacheStats;
}
