/**
 * Public types of the core host layer. Runtime-agnostic: nothing here may import `node:*`.
 */

/** A key: a string (encoded as UTF-8) or raw bytes. */
export type Key = string | Uint8Array;
/** A value: raw bytes, or a string stored as UTF-8. */
export type Value = Uint8Array | string;

/** Why an entry left the cache, as reported to `onEvict`. */
export type EvictReason = 'evict' | 'expire';

/** Where the core's WebAssembly comes from; defaults to the bytes inlined at build time. */
export type WasmSource = BufferSource | WebAssembly.Module | URL | string | Response | Promise<Response>;

export interface ArenaCacheOptions {
  /** Memory for entries and index, in bytes (the arena's budget). Required. */
  maxBytes: number;
  /** Number of segments: a power of two, 1..1024. Default 16. */
  segments?: number;
  /** Default time-to-live in milliseconds for entries set without `ttl`; 0 = none. Default 0. */
  ttl?: number;
  /** Longest key in bytes. Default 1024. */
  maxKeyBytes?: number;
  /** Largest value in bytes; capped by what one segment can hold. Default min(segment capacity, 1 MiB); it also sizes each thread's I/O area. */
  maxValueBytes?: number;
  /**
   * Called for every entry the cache evicts or expires (not for delete/clear/replace), in the order
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
}

export interface SetOptions {
  /** Time-to-live in ms for this entry; 0 = never expires; omitted = the cache's default TTL. */
  ttl?: number;
}

/** Counters and sizes of one segment (or of the whole cache, summed). */
export interface SegmentStats {
  entries: number;
  /** Bytes charged to live entries (header + key + value + alignment). */
  bytesUsed: number;
  /** The byte budget of the segment (its region). */
  budget: number;
  /** Bytes in free blocks between live entries (fragmentation). */
  freeBytes: number;
  /** Number of free blocks (holes). */
  freeBlocks: number;
  /** Bytes never yet allocated at the end of the region. */
  untouchedBytes: number;
  hits: number;
  misses: number;
  sets: number;
  deletes: number;
  evictions: number;
  expirations: number;
  /** Entries the core refused as too large (ArenaCache refuses them itself, before the core: 0 here). */
  rejected: number;
  compactions: number;
  /** Segments reset because the thread holding their lock died. */
  recoveries: number;
}

export interface CacheStats extends SegmentStats {
  segments: SegmentStats[];
  /** Total linear memory of the arena (header, index, regions, I/O areas). */
  memoryBytes: number;
  /** hits / (hits + misses), 0 when nothing was read. */
  hitRatio: number;
  /** freeBytes / (freeBytes + bytesUsed): how much of the allocated space is holes. */
  fragmentation: number;
}

/**
 * What the cluster layer needs from a cache. `ArenaCache` implements it; tests may use it too.
 */
export interface ByteCache {
  get(key: Key): Uint8Array | undefined;
  peek(key: Key): Uint8Array | undefined;
  has(key: Key): boolean;
  set(key: Key, value: Value, options?: SetOptions): this;
  delete(key: Key): boolean;
  clear(): void;
  readonly size: number;
  readonly bytes: number;
  readonly maxKeyBytes: number;
  readonly maxValueBytes: number;
  stats(): CacheStats;
}
