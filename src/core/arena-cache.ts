/**
 * ArenaCache: a Map-like byte cache over one core instance. Runtime-agnostic (no `node:` imports):
 * the same class runs in Node, Deno, Bun and browsers, over a private arena or a shared one.
 *
 * It composes the host's parts: the Arena (instance, slot), the IoArea every write goes through,
 * the ValuePool results are copied into, the EvictLog that delivers onEvict, Batches, the Sweeper.
 * Every public method checks all its arguments (validate.ts) before it writes or calls anything.
 */
import { Header, Info, POLICIES, Scan, Stats, STATUS_NAMES, Status, U32_MAX, entryCost, entryHeaderOf, type PolicyName } from './abi.js';
import {
  Arena, attachSharedArena, createPrivateArena, createSharedArena, slotFlags, type SharedArenaHandle,
} from './arena.js';
import { Batches } from './batch.js';
import { ArenaClock } from './clock.js';
import { utf8Length } from './codec.js';
import { EvictLog } from './evict-log.js';
import type { IoArea } from './io-area.js';
import { dump, dumpChunks, type DumpSource } from './dump.js';
import { Restorer, type SnapshotLoadResult } from './restore.js';
import { SnapshotError, type SnapshotInfo } from './snapshot-format.js';
import { SnapshotReader, checkSnapshot, checkSnapshotBytes } from './snapshot-reader.js';
import {
  DEFAULT_POLICY, DEFAULT_SWEEP_INTERVAL_MS, MAX_ARENA_BYTES, NO_TAG, resolveCanBlock, resolveHost, resolveLayout, resolveReadThrough,
  resolveTag, resolveThreads, wantsRemovals, type HostConfig, type ReadThroughOptions,
} from './options.js';
import { ReadThrough } from './read-through.js';
import { Scanner } from './scanner.js';
import { readSegment, summarize } from './stats.js';
import { SWEEP_STEPS, Sweeper } from './sweeper.js';
import {
  checkEntry, checkFetchOptions, checkInteger, checkKey, checkObject, checkOptionalBoolean, checkSnapshotSource, checkTarget, checkValueType,
  describe, setOptionsTtl,
} from './validate.js';
import { ValuePool } from './value-pool.js';
import { compileSource, defaultModule, type CoreFlavor } from './wasm.js';
import type {
  ArenaCacheOptions, ByteCache, CacheStats, ChunkSource, EntryInfo, EvictionPolicy, FetchOptions, Key, SegmentStats, SetOptions,
  SnapshotSource, Value,
} from './types.js';

export { SnapshotError, type SnapshotLoadResult, type SnapshotInfo };

export type { SharedArenaHandle };

export interface AttachOptions {
  /** Called for entries this thread's own calls evict or expire (each thread sees its own). */
  onEvict?: ArenaCacheOptions['onEvict'];
  /** Which removals this thread's onEvict hears (see ArenaCacheOptions.disposeReasons). */
  disposeReasons?: ArenaCacheOptions['disposeReasons'];
  clock?: () => number;
  /**
   * A number naming this thread (e.g. worker_threads' threadId), 0 to 2^32 - 2, used by
   * `releaseThread(tag)` when the thread dies. Untagged threads cannot be released by tag.
   */
  tag?: number;
  /** Whether this thread may block in Atomics.wait; auto-detected (false on a browser main thread: it spins). */
  canBlock?: boolean;
  /**
   * Background TTL sweep period in ms; 0 disables it. Default 0: the creating thread already
   * sweeps every segment for everyone (one segment per tick, under that segment's lock).
   */
  sweepIntervalMs?: number;
}

export interface SharedOptions extends ArenaCacheOptions {
  /** How many threads may be attached at once, the creator included (slots). 1..1024, default 16. */
  threads?: number;
  /** Whether the creating thread may block in Atomics.wait; auto-detected. */
  canBlock?: boolean;
  /** The creating thread's tag (see AttachOptions.tag). */
  tag?: number;
  /**
   * Give every thread slot an eviction log, so that threads attaching with `onEvict` get their
   * callbacks even if the creator passes none. Default: whether the creator passes `onEvict`.
   */
  evictionLogs?: boolean;
}

export class ArenaCache implements ByteCache {
  /** Longest key accepted, in bytes. */
  readonly maxKeyBytes: number;
  /** Largest value accepted, in bytes (with a longer key, the entry must also fit `entryLimit`). */
  readonly maxValueBytes: number;
  readonly segments: number;
  /** Bytes of live entries one segment may hold. */
  readonly segmentBudget: number;
  /** The most one entry may cost (`entryCost(key, value)`), so the largest entry a segment takes. */
  readonly entryLimit: number;
  /** The arena's eviction policy. */
  readonly policy: EvictionPolicy;
  /** Entries the cache may hold in all (split evenly over the segments). */
  readonly maxEntries: number;
  /** Whether this cache lives in shared memory (several threads may be attached). */
  readonly shared: boolean;

  private readonly arena: Arena;
  private readonly slot: number;
  private readonly io: IoArea;
  /** io.start, for the hot path. */
  private readonly at: number;
  /** [dataBase, dataEnd): where entries live; a borrowed view must lie there or in the I/O area. */
  private readonly dataBase: number;
  private readonly dataEnd: number;
  private readonly clock: ArenaClock;
  private readonly pool = new ValuePool();
  /** Present only when this thread has an onEvict (and the arena eviction logs). */
  private readonly log: EvictLog | undefined;
  private readonly batches: Batches;
  private readonly sweeper: Sweeper;
  private readonly scanner: Scanner;
  /** Present only with a fetchMethod. */
  private readonly readThrough: ReadThrough | undefined;
  private closed = false;

  private constructor(arena: Arena, host: HostConfig, sweepNow: boolean, readThrough?: ReadThroughOptions) {
    this.arena = arena;
    this.slot = arena.slot;
    this.shared = arena.shared;
    this.segments = arena.field(Header.SEGMENTS);
    this.maxKeyBytes = arena.field(Header.MAX_KEY);
    this.maxValueBytes = arena.field(Header.MAX_VALUE);
    this.segmentBudget = arena.field(Header.BUDGET);
    this.entryLimit = arena.field(Header.ENTRY_LIMIT);
    this.maxEntries = arena.field(Header.MAX_ENTRIES);
    this.policy = (Object.keys(POLICIES) as PolicyName[]).find((k) => POLICIES[k] === arena.field(Header.POLICY))!;
    const memory = arena.memory.buffer;
    this.io = arena.ioArea();
    this.at = this.io.start;
    this.dataBase = arena.field(Header.DATA_BASE);
    this.dataEnd = arena.field(Header.END);
    this.clock = new ArenaClock(memory, arena.header + Header.TTL_SEEN, host.clock);
    const logAt = arena.logAt();
    this.log = host.onEvict !== undefined && logAt !== 0
      ? new EvictLog(memory, logAt, arena.field(Header.LOG_BYTES), host.onEvict, host.disposeReasons)
      : undefined;
    this.batches = new Batches(arena, this.io, this.pool, this.log, this.clock, this);
    this.sweeper = new Sweeper(arena, this.io, this.log, this.clock, this.segments, host.sweepIntervalMs);
    this.scanner = new Scanner(arena, this.io, this.clock, this.segments, this.maxKeyBytes);
    this.readThrough = readThrough === undefined
      ? undefined
      : new ReadThrough(this, { ...readThrough, defaultTtl: arena.f64Field(Header.DEFAULT_TTL) });
    if (sweepNow || this.clock.ttlsUsed) this.sweeper.start();
  }

  /** The eviction policies this build offers (`policy` option); the default is s3fifo. */
  static readonly policies: readonly EvictionPolicy[] = Object.freeze(Object.keys(POLICIES) as EvictionPolicy[]);

  /** Creates a cache over a private arena (a non-shared memory; zero imports). */
  static async create(options: ArenaCacheOptions): Promise<ArenaCache> {
    checkObject('ArenaCache options', options);
    const host = resolveHost(options, DEFAULT_SWEEP_INTERVAL_MS);
    const layout = resolveLayout(options, host.onEvict !== undefined);
    const readThrough = resolveReadThrough(options);
    const module = options.wasm !== undefined ? await compileSource(options.wasm) : await defaultModule('release');
    const arena = await createPrivateArena(module, layout, slotFlags(false, layout.logs, wantsRemovals(host.disposeReasons)), host.clock());
    return new ArenaCache(arena, host, false, readThrough);
  }

  /**
   * Creates a cache over a shared arena. Post `handle` to a worker (it is structured-cloneable)
   * and call `ArenaCache.attach(handle)` there to use the same arena (see docs/threads.md).
   *
   * The memory's maximum is the arena's own size: the arena never grows (every thread's views
   * stay valid), and no more address space is reserved than the arena needs.
   */
  static async createShared(options: SharedOptions): Promise<{ cache: ArenaCache; handle: SharedArenaHandle }> {
    checkObject('ArenaCache options', options);
    if (typeof SharedArrayBuffer !== 'function') {
      throw new Error('arenacache: SharedArrayBuffer is unavailable (browsers require cross-origin isolation)');
    }
    const threads = resolveThreads(options.threads);
    const tag = resolveTag(options.tag);
    const canBlock = resolveCanBlock(options.canBlock);
    checkOptionalBoolean('evictionLogs', options.evictionLogs);
    const host = resolveHost(options, DEFAULT_SWEEP_INTERVAL_MS);
    const logs = options.evictionLogs ?? host.onEvict !== undefined;
    if (!logs && host.onEvict !== undefined) throw new TypeError('onEvict needs eviction logs: do not pass `evictionLogs: false` with it');
    const layout = resolveLayout(options, logs);
    const readThrough = resolveReadThrough(options);
    const module = options.wasm !== undefined ? await compileSource(options.wasm) : await defaultModule('shared');
    const flags = slotFlags(canBlock, host.onEvict !== undefined, wantsRemovals(host.disposeReasons));
    const arena = await createSharedArena(module, layout, threads, tag, flags, host.clock());
    // The creator sweeps TTLs for every thread: its timer runs from the start and idles until some
    // thread stores an entry with an expiry (one segment per tick, under that segment's lock only).
    const cache = new ArenaCache(arena, host, true, readThrough);
    return { cache, handle: { module, memory: arena.memory } };
  }

  /**
   * Attaches this thread to a shared arena created by `createShared` (in any thread that received
   * the handle). The cache uses its own thread slot; `close()` gives it back. A thread that dies
   * without closing must be released with `releaseThread(tag)` from another thread (the Node
   * helpers in `arenacache/workers` do it for you).
   */
  static async attach(handle: SharedArenaHandle, options: AttachOptions = {}): Promise<ArenaCache> {
    const h = handle as Partial<SharedArenaHandle> | null | undefined;
    if (typeof h !== 'object' || h === null || typeof h.module !== 'object' || typeof h.memory !== 'object' || h.memory === null) {
      throw new TypeError('arenacache: attach needs the { module, memory } handle of a shared cache');
    }
    if (typeof SharedArrayBuffer !== 'function' || !(h.memory.buffer instanceof SharedArrayBuffer)) {
      throw new TypeError('arenacache: the handle\'s memory is not shared (create the cache with createShared)');
    }
    checkObject('attach options', options);
    const tag = resolveTag(options.tag);
    const canBlock = resolveCanBlock(options.canBlock);
    const host = resolveHost(options, 0);
    const logs = host.onEvict !== undefined;
    const arena = await attachSharedArena(handle, tag, slotFlags(canBlock, logs, wantsRemovals(host.disposeReasons)), logs);
    try {
      return new ArenaCache(arena, host, false);
    } catch (e) {
      arena.close();
      throw e;
    }
  }

  /** What an entry with these key and value sizes is charged under `policy` (default: the default policy). */
  static entrySize(keyBytes: number, valueBytes: number, policy: EvictionPolicy = DEFAULT_POLICY): number {
    checkInteger('keyBytes', keyBytes, 0, MAX_ARENA_BYTES);
    checkInteger('valueBytes', valueBytes, 0, MAX_ARENA_BYTES);
    if (!(policy in POLICIES)) throw new RangeError(`policy must be one of ${Object.keys(POLICIES).join(', ')}, got ${String(policy)}`);
    return entryCost(policy, keyBytes, valueBytes);
  }

  /** The largest value storable under a key of `keyBytes` bytes (entries must fit `entryLimit`). */
  maxValueFor(keyBytes: number): number {
    checkInteger('keyBytes', keyBytes, 0, this.maxKeyBytes);
    // Entry limits are multiples of the entry alignment, so this is exact.
    return Math.max(0, Math.min(this.maxValueBytes, this.entryLimit - entryHeaderOf(this.policy) - keyBytes));
  }

  /** What an entry with these key and value sizes is charged in this cache. */
  entryCost(keyBytes: number, valueBytes: number): number {
    return ArenaCache.entrySize(keyBytes, valueBytes, this.policy);
  }

  // ---------------------------------------------------------------------------------------------
  // Single-key operations

  /** The value of `key` (a copy, valid after later evictions), promoting it; undefined if absent. */
  get(key: Key): Uint8Array | undefined {
    const klen = this.writeKey(key);
    return this.result(this.arena.ex.get(this.slot, klen, this.clock.now()));
  }

  /** Like get, but does not promote the entry or count a hit/miss. */
  peek(key: Key): Uint8Array | undefined {
    const klen = this.writeKey(key);
    return this.result(this.arena.ex.peek(this.slot, klen, this.clock.now()));
  }

  /**
   * A borrowed view of the value of `key`, recorded as an access as get does, with no copy made
   * for the caller: in a private arena the view shows the value where it lives in the arena (a
   * value that wraps around its segment's end, and every value of a shared arena, where another
   * thread may move it at any moment, is copied into this thread's I/O area first). It is valid
   * only until the next call on this cache, which may move, overwrite or evict the value: read it
   * at once, or copy it (`slice()`, or `getInto` into your own buffer). Do not write into it: the
   * bytes may be the stored value's own (the arena's structure is never reachable through it).
   */
  getView(key: Key): Uint8Array | undefined {
    const klen = this.writeKey(key);
    const r = this.arena.ex.get_ref(this.slot, klen, this.clock.now());
    let view: Uint8Array | undefined;
    if (r >= 0) {
      const from = this.io.getU32(this.at);
      // The value lies in the data region (in place) or in this thread's area (copied).
      if (!(from >= this.dataBase && from + r <= this.dataEnd)) this.io.check(from, r);
      view = this.io.u8.subarray(from, from + r);
    } else if (r !== Status.NOT_FOUND) {
      throw this.failure(r);
    }
    this.log?.settle();
    return view;
  }

  /**
   * Copies the value of `key` into `target` at `offset` without allocating, promoting the entry
   * as get does. Returns the value's length, or -1 if absent. Throws RangeError when the value
   * does not fit in `target` (its size is known only once found: the hit is counted and the
   * entry promoted); the message names the size needed.
   */
  getInto(key: Key, target: Uint8Array, offset = 0): number {
    checkTarget(target, offset);
    if (this.shared && this.io.aliases(target)) throw new TypeError('getInto: target must not be a view of the cache\'s own memory');
    const room = target.length - offset; // read once, before the value sits in the I/O area
    const klen = this.writeKey(key);
    const r = this.arena.ex.get(this.slot, klen, this.clock.now());
    const at = this.at;
    let error: RangeError | undefined;
    if (r >= 0) {
      this.io.check(at, r);
      if (r <= room) target.set(this.io.u8.subarray(at, at + r), offset);
      else error = new RangeError(`getInto: the value is ${r} bytes; the target has ${room} from offset ${offset}`);
    } else if (r !== Status.NOT_FOUND) {
      throw this.failure(r);
    }
    this.log?.settle();
    if (error !== undefined) throw error;
    return r >= 0 ? r : -1;
  }

  /** Whether `key` is present and not expired (no promotion). */
  has(key: Key): boolean {
    const klen = this.writeKey(key);
    const r = this.arena.ex.has(this.slot, klen, this.clock.now());
    if (r < 0) throw this.failure(r);
    this.log?.settle();
    return r === 1;
  }

  /**
   * Inserts or replaces `key`, evicting least recently used entries of its segment as needed.
   * Throws TypeError/RangeError (and changes nothing) for a bad key, value or options.
   */
  set(key: Key, value: Value, options?: SetOptions): this {
    const ttl = options === undefined ? -1 : setOptionsTtl('set:', -1, options);
    const io = this.io;
    const at = this.at;
    checkKey('key', -1, key, this.maxKeyBytes);
    checkValueType('value', -1, value);
    // A view of a shared arena's own memory would change while the key is written.
    if (this.shared && typeof value !== 'string' && io.aliases(value)) value = value.slice();
    const klen = io.data(at, key, this.maxKeyBytes);
    let vlen: number;
    if (typeof value === 'string') {
      vlen = io.text(at + klen, value, this.maxValueBytes);
      if (vlen < 0) vlen = utf8Length(value); // too large: checkEntry names the limit
    } else {
      vlen = value.length;
      if (vlen <= this.maxValueBytes && !io.bytes(at + klen, value)) throw new Error('arenacache: a value does not fit the I/O area');
    }
    checkEntry('set', -1, klen, vlen, this);
    const rt = this.readThrough;
    if (rt !== undefined && rt.pending !== 0) rt.supersede(key);
    const now = ttl > 0 ? this.clock.read() : this.clock.now();
    const ex = this.arena.ex;
    let r = ex.set(this.slot, klen, vlen, ttl, now);
    const log = this.log;
    if (log !== undefined) {
      // The key and value stay in the I/O area (the log is elsewhere): drain and repeat the set.
      for (;;) {
        if (log.filled) log.drain();
        if (r !== Status.LOG_FULL) break;
        r = ex.set(this.slot, klen, vlen, ttl, now);
      }
    }
    if (r === Status.OK && ttl > 0) this.sweeper.start();
    log?.deliver();
    if (r !== Status.OK) throw this.failure(r);
    return this;
  }

  /** Removes `key`; true if a live entry was removed. */
  delete(key: Key): boolean {
    const klen = this.writeKey(key);
    const rt = this.readThrough;
    if (rt !== undefined && rt.pending !== 0) rt.supersede(key);
    const now = this.clock.now();
    let r = this.arena.ex.remove(this.slot, klen, now);
    // With 'delete' in disposeReasons the removal is logged first: a full log is drained, then
    // the same call repeated (the key is still in the I/O area: the log lies elsewhere).
    while (r === Status.LOG_FULL && this.log !== undefined) {
      this.log.drain();
      r = this.arena.ex.remove(this.slot, klen, now);
    }
    if (r < 0) throw this.failure(r);
    this.log?.settle();
    return r === 1;
  }

  /**
   * What the cache holds for `key`: its value's size, its cost, when it expires and how long it
   * has left; undefined if absent or expired. Neither records an access nor counts a hit.
   */
  info(key: Key): EntryInfo | undefined {
    const klen = this.writeKey(key);
    const now = this.clock.now();
    const r = this.arena.ex.info(this.slot, klen, now);
    let info: EntryInfo | undefined;
    if (r === 1) {
      const at = this.at;
      const expiresAt = this.io.getF64(at + Info.EXPIRES);
      info = {
        size: this.io.getU32(at + Info.VLEN),
        cost: this.io.getU32(at + Info.COST),
        expiresAt,
        remainingTTL: expiresAt === 0 ? 0 : Math.max(0, expiresAt - this.clock.read()),
      };
    } else if (r !== 0) {
      throw this.failure(r);
    }
    this.log?.settle();
    return info;
  }

  /**
   * Milliseconds until `key` expires: 0 when it never expires (lru-cache says Infinity there;
   * 0 matches this cache's `ttl: 0`), undefined when it is absent.
   */
  getRemainingTTL(key: Key): number | undefined {
    return this.info(key)?.remainingTTL;
  }

  /**
   * The value of `key`, loaded with the `fetchMethod` on a miss and stored (read-through.ts):
   * concurrent calls for one key share one load; with `allowStale` a stale value (see
   * `staleWindow`) is returned at once while one load refreshes it; `signal` gives up this call
   * alone; errors are never cached; `ttl` is the loaded value's TTL. Resolves to undefined when the
   * fetchMethod finds nothing. Without a fetchMethod it is `get` (as in lru-cache). Bad arguments
   * reject with a TypeError or RangeError before the cache is touched.
   */
  fetch(key: Key, options?: FetchOptions): Promise<Uint8Array | undefined> {
    const rt = this.readThrough;
    if (rt !== undefined) return rt.fetch(key, options);
    return (async () => {
      checkFetchOptions(options);
      return this.get(key);
    })();
  }

  /** Removes every entry (segment by segment); counters are kept. */
  clear(): void {
    this.readThrough?.supersedeAll();
    this.arena.ex.clear(this.slot);
  }

  /** Number of entries. */
  get size(): number {
    return this.arena.ex.count() >>> 0;
  }

  /** Bytes charged to entries (header + key + value, 4-aligned). */
  get bytes(): number {
    return this.arena.ex.used();
  }

  /** The arena's configured budget in bytes (entries + index). */
  get maxBytes(): number {
    return this.arena.field(Header.MAX_BYTES);
  }

  // ---------------------------------------------------------------------------------------------
  // Batches: one crossing into wasm for many keys

  /** Gets many keys; result[i] is the value of keys[i] or undefined. Promotes hits. */
  getMany(keys: readonly Key[]): (Uint8Array | undefined)[] {
    return this.batches.getMany(keys);
  }

  /**
   * Sets many entries with few crossings into wasm. The whole batch is checked first: on bad
   * input it throws and changes nothing.
   */
  setMany(entries: Iterable<readonly [Key, Value, SetOptions?]>): void {
    if (this.batches.setMany(entries)) this.sweeper.start();
    // After the batch (checked whole first: a refused batch changes nothing); coarse but cheap.
    this.readThrough?.supersedeAll();
  }

  // ---------------------------------------------------------------------------------------------
  // TTL sweeping

  /**
   * Sweeps one segment (round-robin): examines at most `maxSteps` entries under that segment's
   * lock, from where the previous sweep of it stopped, and removes the expired ones. With
   * `maxSteps` at least the segment's entries it removes every expired entry of it. Returns how
   * many expired.
   */
  sweep(maxSteps: number = SWEEP_STEPS): number {
    checkInteger('sweep: maxSteps', maxSteps, 0, U32_MAX);
    return this.sweeper.sweep(maxSteps);
  }

  /** Removes every expired entry now, one segment at a time. Returns how many expired. */
  purgeStale(): number {
    return this.sweeper.purge();
  }

  // ---------------------------------------------------------------------------------------------
  // Stats and integrity

  stats(): CacheStats {
    const segments: SegmentStats[] = [];
    for (let i = 0; i < this.segments; i++) {
      const r = this.arena.ex.stats(this.slot, i);
      if (r !== Stats.SIZE) throw this.failure(r);
      segments.push(readSegment(this.io));
    }
    return summarize(segments, this.arena.field(Header.END), this.policy);
  }

  /**
   * Walks every segment and checks the core's invariants (list ↔ index agree, bytes in use = sum
   * of entries ≤ budget, free blocks coalesced and listed, no entry reachable twice, the sweep
   * cursor on a live entry). Throws on the first violation.
   */
  checkIntegrity(): void {
    for (let i = 0; i < this.segments; i++) {
      const r = this.arena.ex.check(this.slot, i);
      if (r !== 0) throw new Error(`arenacache: segment ${i} violates invariant ${r}`);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Iteration (scanner.ts): no promotion, no counting, expired entries skipped, a bounded number of
  // entries per core call. Order: lru — keys/values/entries most recently used first, rkeys/
  // rentries least recently used first; clock and s3fifo have no recency list to walk backwards:
  // every method walks the order the policy would evict (first to go first). Segments are
  // interleaved by quantile. Changes meanwhile: every entry present for the whole iteration is seen
  // exactly once, except that lru's most-recent-first order misses entries read or written
  // meanwhile (they move behind it). Keys and values are copies (views of one copy per chunk).

  /** [key, value] pairs: most recently used first (lru), else in eviction order. */
  *entries(): Generator<[Uint8Array, Uint8Array]> {
    for (const e of this.scanner.entries(this.newestFirst() | Scan.VALUES, true)) yield [e.key, e.value!];
  }

  /** Keys, in the order of `entries()`. */
  *keys(): Generator<Uint8Array> {
    for (const e of this.scanner.entries(this.newestFirst(), true)) yield e.key;
  }

  /** Values, in the order of `entries()`. */
  *values(): Generator<Uint8Array> {
    for (const e of this.scanner.entries(this.newestFirst() | Scan.VALUES, true)) yield e.value!;
  }

  /** [key, value] pairs in the order the policy would evict them (lru: least recently used first). */
  *rentries(): Generator<[Uint8Array, Uint8Array]> {
    for (const e of this.scanner.entries(Scan.VALUES, true)) yield [e.key, e.value!];
  }

  /** Keys in the order the policy would evict them (lru: least recently used first). */
  *rkeys(): Generator<Uint8Array> {
    for (const e of this.scanner.entries(0, true)) yield e.key;
  }

  /** Values in the order of `rkeys()`. */
  *rvalues(): Generator<Uint8Array> {
    for (const e of this.scanner.entries(Scan.VALUES, true)) yield e.value!;
  }

  [Symbol.iterator](): Generator<[Uint8Array, Uint8Array]> {
    return this.entries();
  }

  /** Calls `fn(value, key, cache)` for every entry, in the order of `entries()` (as Map.forEach). */
  forEach(fn: (value: Uint8Array, key: Uint8Array, cache: this) => void): void {
    if (typeof fn !== 'function') throw new TypeError(`forEach: fn must be a function, got ${typeof fn}`);
    for (const e of this.scanner.entries(this.newestFirst() | Scan.VALUES, true)) fn(e.value!, e.key, this);
  }

  /** Calls `fn(value, key, cache)` for every entry, in the order of `rentries()`. */
  rforEach(fn: (value: Uint8Array, key: Uint8Array, cache: this) => void): void {
    if (typeof fn !== 'function') throw new TypeError(`rforEach: fn must be a function, got ${typeof fn}`);
    for (const e of this.scanner.entries(Scan.VALUES, true)) fn(e.value!, e.key, this);
  }

  private newestFirst(): number {
    return this.policy === 'lru' ? Scan.NEWEST_FIRST : 0;
  }

  // ---------------------------------------------------------------------------------------------
  // Snapshots (snapshot-format.ts is the format; docs/snapshots.md the specification)

  /**
   * Checks a snapshot (structure, record count, checksum) without loading it: bytes, or a stream of
   * chunks. Resolves to what the snapshot says about itself; rejects with a SnapshotError.
   */
  static async checkSnapshot(source: Uint8Array | ChunkSource): Promise<SnapshotInfo> {
    checkSnapshotSource('checkSnapshot', source, { bytes: true, opener: false });
    return checkSnapshot(source);
  }

  /**
   * A new cache with `options`, holding the entries of a snapshot: bytes (`load`) or chunks
   * (`loadChunks`). If the snapshot is refused the new cache is closed and the error thrown.
   */
  static async load(snapshot: SnapshotSource, options: ArenaCacheOptions): Promise<ArenaCache> {
    checkSnapshotSource('ArenaCache.load', snapshot, { bytes: true, opener: true });
    const cache = await ArenaCache.create(options);
    try {
      if (snapshot instanceof Uint8Array) cache.load(snapshot);
      else await cache.loadChunks(snapshot);
    } catch (e) {
      cache.close();
      throw e;
    }
    return cache;
  }

  /**
   * A snapshot of every entry as one Uint8Array: a portable, versioned, checksummed copy of the
   * keys, values, remaining TTLs and order (first to evict first). For a big cache prefer
   * `dumpChunks`, which never holds more than one chunk.
   */
  dump(): Uint8Array {
    return dump(this.dumpSource());
  }

  /**
   * The snapshot `dump` returns, as a stream of chunks (bounded memory for any cache size): write
   * them to a file or a socket as they come, e.g. with Node
   * `await pipeline(Readable.from(cache.dumpChunks()), createWriteStream(path))`. The cache may be
   * used while the stream is consumed: every entry present for the whole dump is in it, one
   * changed meanwhile may be in it twice (the later copy wins on load).
   */
  dumpChunks(): Generator<Uint8Array> {
    return dumpChunks(this.dumpSource());
  }

  /**
   * Adds the entries of a snapshot (from `dump`), first to evict first, so this cache's order
   * follows the dumped one; TTLs count down the time since the dump, and entries whose time is up
   * are not stored. The cache may have another size, segment count or policy: entries it cannot
   * hold are skipped, and of a snapshot larger than the cache the earliest entries are left out.
   * The whole snapshot is checked first: a truncated or damaged one throws a SnapshotError and
   * changes nothing.
   */
  load(snapshot: Uint8Array): SnapshotLoadResult {
    if (!(snapshot instanceof Uint8Array)) throw new TypeError(`load: snapshot must be a Uint8Array (use loadChunks for a stream), got ${describe(snapshot)}`);
    checkSnapshotBytes(snapshot);
    const restorer = this.restorer();
    // Checked above: the second pass need not sum the bytes again.
    const reader = new SnapshotReader(restorer, { checksum: false });
    reader.push(snapshot);
    reader.end();
    return restorer.end();
  }

  /**
   * Adds the entries of a snapshot stream in bounded memory. Given a function that opens the
   * stream (e.g. `() => createReadStream(path)`), it reads it twice, checking it whole first, so
   * a damaged snapshot changes nothing. Given the stream itself it reads it once, loading as it
   * goes (records are applied an I/O area, about maxValueBytes, at a time): damage is found at the
   * latest at the end, when the records before it may have been loaded; if this (private) cache
   * was empty when the load began it is emptied again before the error is thrown.
   */
  async loadChunks(source: ChunkSource | (() => ChunkSource)): Promise<SnapshotLoadResult> {
    checkSnapshotSource('loadChunks', source, { bytes: false, opener: true });
    if (typeof source === 'function') {
      await checkSnapshot(source());
      return this.loadStream(source(), false);
    }
    return this.loadStream(source, this.size === 0 && !this.shared);
  }

  private async loadStream(source: ChunkSource, clearOnError: boolean): Promise<SnapshotLoadResult> {
    const restorer = this.restorer();
    const reader = new SnapshotReader(restorer);
    try {
      for await (const chunk of source as AsyncIterable<Uint8Array>) {
        reader.push(chunk);
        restorer.settle(); // nothing may wait in the I/O area across the await
      }
      reader.end();
    } catch (e) {
      if (clearOnError && e instanceof SnapshotError) this.clear();
      throw e;
    }
    return restorer.end();
  }

  private restorer(): Restorer {
    this.sweeper.start(); // restored TTLs need sweeping like any others
    this.readThrough?.supersedeAll();
    const { budget, maxEntries } = this.stats();
    return new Restorer({
      arena: this.arena, io: this.io, log: this.log, clock: this.clock, policy: this.policy,
      maxKeyBytes: this.maxKeyBytes, maxValueBytes: this.maxValueBytes, entryLimit: this.entryLimit,
      capacity: { bytes: budget, entries: maxEntries },
    });
  }

  private dumpSource(): DumpSource {
    return {
      scanner: this.scanner, io: this.io, clock: this.clock, policy: this.policy, segments: this.segments, maxBytes: this.maxBytes,
      size: this.size, bytes: this.bytes,
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Threads (shared arenas)

  /** A handle other threads can attach with (shared caches only). */
  get handle(): SharedArenaHandle {
    if (!this.shared) throw new Error('arenacache: only a shared cache (createShared) has a handle');
    if (this.closed) throw new Error('arenacache: this cache is closed');
    return { module: this.arena.module, memory: this.arena.memory };
  }

  /** The thread slot this cache instance uses. */
  get threadSlot(): number {
    return this.slot;
  }

  /**
   * Call when a thread attached with `tag` has died (e.g. a worker's 'exit' event with its
   * threadId): frees its slot and recovers any segment whose lock it held. Returns the number of
   * segments recovered (their entries are dropped: a half-finished update cannot be trusted).
   * Harmless if that thread already closed or was already released. Never call it for a thread
   * that is still running: it may be inside a call, and its locks would be taken from it.
   */
  releaseThread(tag: number): number {
    checkInteger('tag', tag, 0, NO_TAG - 1);
    const threads = this.arena.field(Header.THREADS);
    let recovered = 0;
    for (let s = 0; s < threads; s++) {
      if (s === this.slot) continue;
      // The core matches slot state and tag with one 64-bit CAS: a slot freed and claimed again
      // by another thread is never released by mistake.
      const r = this.arena.ex.release_slot(s, tag >>> 0, this.slot);
      if (r > 0) recovered += r;
    }
    return recovered;
  }

  /**
   * Stops the sweeper. A shared cache also gives its thread slot back, and every later call on
   * it throws (the slot, with its I/O area, may already belong to another thread); the arena
   * lives on for the other threads.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sweeper.stop();
    this.arena.close();
  }

  // ---------------------------------------------------------------------------------------------
  // Internals

  /** Checks the key and writes it at the start of the I/O area; returns its byte length. */
  private writeKey(key: Key): number {
    checkKey('key', -1, key, this.maxKeyBytes);
    return this.io.data(this.at, key, this.maxKeyBytes);
  }

  /** A get/peek result: the value copied out of the I/O area, or undefined; then onEvict. */
  private result(r: number): Uint8Array | undefined {
    let value: Uint8Array | undefined;
    if (r >= 0) {
      this.io.check(this.at, r);
      value = this.pool.copy(this.io.u8, this.io.u32, this.at, r);
    } else if (r !== Status.NOT_FOUND) {
      throw this.failure(r);
    }
    this.log?.settle();
    return value;
  }

  /** A status the checked arguments exclude: the core and the host disagree. */
  private failure(status: number): Error {
    return new Error(`arenacache: core returned ${STATUS_NAMES[status] ?? status}`);
  }
}

export type { CoreFlavor };
