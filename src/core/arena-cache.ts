/**
 * ArenaCache: a Map-like byte cache over one core instance. Runtime-agnostic (no `node:` imports):
 * the same class runs in Node, Deno, Bun and browsers, over a private arena or a shared one.
 */
import {
  Status, STATUS_NAMES, Header, MAGIC, ABI_VERSION, SegmentField, SlotFlag, LOG_HEADER,
  RECORD_HEADER, Reason, BATCH_RECORD_HEADER, entrySize, type CoreExports,
} from './abi.js';
import { writeUtf8, utf8Length, byteLength } from './codec.js';
import { defaultModule, compileSource, type CoreFlavor } from './wasm.js';
import type {
  ArenaCacheOptions, ByteCache, CacheStats, EvictReason, Key, SegmentStats, SetOptions, Value,
} from './types.js';

const MAX_ARENA_BYTES = 0xf000_0000; // wasm32 addresses 4 GiB; leave room for header and I/O
const DEFAULT_MAX_KEY = 1024;
// The I/O area holds a key plus a value, so this default also sets its size: 1 MiB is ~1 B per
// entry at a million entries, where 8 MiB would add 8.
const DEFAULT_MAX_VALUE = 1024 * 1024;
const BATCH_KEYS = 256;
// Small values are copied into views of a shared pool (as Node's Buffer pool does): a fresh
// ArrayBuffer per get costs ~4x more than the whole lookup. A retained view keeps its pool alive.
const POOL_BYTES = 64 * 1024;
const POOLED_MAX = 4096;

/**
 * What a thread needs to attach to a shared arena: the compiled core and its shared memory. Both
 * are structured-cloneable, so post the handle to a worker (postMessage or workerData) as is.
 */
export interface SharedArenaHandle {
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
}

export interface AttachOptions {
  /** Called for entries this thread's own calls evict or expire (each thread sees its own). */
  onEvict?: ArenaCacheOptions['onEvict'];
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

/** The tag of a thread attached without one: `releaseThread` never matches it. */
const NO_TAG = 0xffff_ffff;
const SLOT_BYTES = 16;
const PAGE = 65536;
const MAX_PAGES = 65536;

interface Config {
  clock: () => number;
  onEvict: ArenaCacheOptions['onEvict'] | undefined;
  sweepIntervalMs: number;
}

type EvictRecord = [Uint8Array, Uint8Array, EvictReason];

function checkInteger(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${name} must be an integer, got ${String(v)}`);
  if (v < min || v > max) throw new RangeError(`${name} must be between ${min} and ${max}, got ${v}`);
  return v;
}

function checkTtl(ttl: unknown, name = 'ttl'): number {
  if (typeof ttl !== 'number' || !(ttl >= 0) || !Number.isFinite(ttl)) {
    throw new RangeError(`${name} must be a finite number of milliseconds >= 0, got ${String(ttl)}`);
  }
  return ttl;
}

/**
 * Whether this thread may block in Atomics.wait. Browsers forbid it on the main (window) thread;
 * workers and server runtimes (Node, Deno, Bun) allow it. Asked of the engine itself: Atomics.wait
 * checks "may this agent suspend" before comparing the value, so a probe whose value differs
 * returns 'not-equal' at once where blocking is allowed and throws where it is not.
 */
function defaultCanBlock(): boolean {
  if (typeof SharedArrayBuffer === 'function' && typeof Atomics === 'object') {
    try {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
      return true;
    } catch {
      return false;
    }
  }
  const g = globalThis as { window?: unknown; document?: unknown };
  return !(typeof g.window !== 'undefined' && typeof g.document !== 'undefined');
}

export class ArenaCache implements ByteCache {
  /** Longest key accepted, in bytes. */
  readonly maxKeyBytes: number;
  /** Largest value accepted, in bytes (an entry must also fit one segment: see `segmentBudget`). */
  readonly maxValueBytes: number;
  readonly segments: number;
  /** Bytes one segment may hold: every entry costs align16(32 + key + value) of it. */
  readonly segmentBudget: number;
  /** Whether this cache lives in shared memory (several threads may be attached). */
  readonly shared: boolean;

  private readonly ex: CoreExports;
  private readonly slot: number;
  private readonly io: number;
  private readonly ioBytes: number;
  private readonly log: number;
  private readonly ttlSeen: number; // index into u32 of the header's TTL_SEEN word
  private readonly clock: () => number;
  private readonly onEvict: ArenaCacheOptions['onEvict'] | undefined;
  private readonly sweepIntervalMs: number;
  private readonly u8: Uint8Array;
  private readonly u32: Uint32Array;
  private readonly i32: Int32Array;
  private readonly dv: DataView;
  private readonly keyView: Uint8Array;
  private readonly header: number;
  private readonly moduleRef: WebAssembly.Module;
  private pool = new ArrayBuffer(POOL_BYTES);
  private poolU8 = new Uint8Array(this.pool);
  private poolOffset = 0;
  private sweepTimer: ReturnType<typeof setInterval> | undefined;
  private sweepNext = 0;
  private closed = false;

  private constructor(ex: CoreExports, module: WebAssembly.Module, slot: number, shared: boolean, cfg: Config) {
    this.ex = ex;
    this.moduleRef = module;
    this.slot = slot;
    this.shared = shared;
    this.clock = cfg.clock;
    this.onEvict = cfg.onEvict;
    this.sweepIntervalMs = cfg.sweepIntervalMs;
    // The arena never grows after init, so these views stay valid for the cache's lifetime.
    const buffer = ex.memory.buffer;
    this.u8 = new Uint8Array(buffer);
    this.u32 = new Uint32Array(buffer);
    this.i32 = new Int32Array(buffer);
    this.dv = new DataView(buffer);
    const h = (this.header = ex.header());
    this.segments = this.u32[(h + Header.SEGMENTS) >> 2];
    this.maxKeyBytes = this.u32[(h + Header.MAX_KEY) >> 2];
    this.maxValueBytes = this.u32[(h + Header.MAX_VALUE) >> 2];
    this.segmentBudget = this.u32[(h + Header.REGION) >> 2];
    this.ioBytes = this.u32[(h + Header.IO_BYTES) >> 2];
    this.ttlSeen = (h + Header.TTL_SEEN) >> 2;
    this.io = ex.io_ptr(slot);
    this.log = this.u32[(h + Header.LOG_BYTES) >> 2] !== 0 ? ex.log_ptr(slot) : 0;
    this.keyView = new Uint8Array(buffer, this.io, this.maxKeyBytes + 4);
    if (this.u32[this.ttlSeen] !== 0) this.startSweeper();
  }

  /** Creates a cache over a private arena (a non-shared memory; zero imports). */
  static async create(options: ArenaCacheOptions): Promise<ArenaCache> {
    const module = options.wasm !== undefined ? await compileSource(options.wasm) : await defaultModule('release');
    const instance = await WebAssembly.instantiate(module, {});
    const ex = instance.exports as unknown as CoreExports;
    ArenaCache.initArena(ex, options, 1);
    ex.set_flags(0, options.onEvict ? SlotFlag.LOG_KEYS_AND_VALUES : 0);
    return new ArenaCache(ex, module, 0, false, ArenaCache.config(options));
  }

  /**
   * Creates a cache over a shared arena. Post `handle` to a worker (it is structured-cloneable)
   * and call `ArenaCache.attach(handle)` there to use the same arena (see docs/threads.md).
   *
   * The memory's maximum is the arena's own size: the arena never grows (every thread's views
   * stay valid), and no more address space is reserved than the arena needs.
   */
  static async createShared(options: SharedOptions): Promise<{ cache: ArenaCache; handle: SharedArenaHandle }> {
    if (typeof options !== 'object' || options === null) throw new TypeError('ArenaCache options must be an object');
    if (typeof SharedArrayBuffer !== 'function') {
      throw new Error('arenacache: SharedArrayBuffer is unavailable (browsers require cross-origin isolation)');
    }
    const threads = checkInteger('threads', options.threads ?? 16, 1, 1024);
    const tag = options.tag === undefined ? NO_TAG : checkInteger('tag', options.tag, 0, NO_TAG - 1);
    const cfg = ArenaCache.config(options);
    const logs = options.evictionLogs ?? options.onEvict !== undefined;
    // initArena only asks onEvict whether to give slots eviction logs.
    const layout: SharedOptions = { ...options, onEvict: logs ? (options.onEvict ?? (() => {})) : undefined };
    const module = options.wasm !== undefined ? await compileSource(options.wasm) : await defaultModule('shared');
    const memory = await ArenaCache.sharedMemory(module, layout, threads);
    const instance = await WebAssembly.instantiate(module, { env: { memory } });
    const ex = instance.exports as unknown as CoreExports;
    ArenaCache.initArena(ex, layout, threads);
    ex.set_flags(0, ArenaCache.slotFlags(options.canBlock, options.onEvict));
    // Slot 0 is the creator's (init claimed it); nobody else can see the arena yet.
    new Uint32Array(ex.memory.buffer)[(ArenaCache.slotAddress(ex, 0) + 4) >> 2] = tag;
    const cache = new ArenaCache(ex, module, 0, true, cfg);
    cache.startSharedSweeper();
    return { cache, handle: { module, memory } };
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
    if (typeof options !== 'object' || options === null) throw new TypeError('attach options must be an object');
    const tag = options.tag === undefined ? NO_TAG : checkInteger('tag', options.tag, 0, NO_TAG - 1);
    const cfg = ArenaCache.config({ maxBytes: 0, ...options, sweepIntervalMs: options.sweepIntervalMs ?? 0 });
    const instance = await WebAssembly.instantiate(handle.module, { env: { memory: handle.memory } });
    const ex = instance.exports as unknown as CoreExports;
    if (ex.abi_version() !== ABI_VERSION) throw new Error(`arenacache: core ABI ${ex.abi_version()}, host expects ${ABI_VERSION}`);
    if (!ex.ready()) throw new Error('arenacache: the shared memory holds no initialised arena');
    if (options.onEvict !== undefined && new Uint32Array(ex.memory.buffer)[(ex.header() + Header.LOG_BYTES) >> 2] === 0) {
      throw new TypeError('arenacache: this arena has no eviction logs: create it with `evictionLogs: true` (or an onEvict) to attach with onEvict');
    }
    const slot = ex.attach(tag, ArenaCache.slotFlags(options.canBlock, options.onEvict));
    if (slot < 0) {
      if (slot === Status.NO_SLOT) {
        throw new Error('arenacache: cannot attach: all thread slots are in use (raise `threads` in createShared, or close/release finished threads)');
      }
      throw new Error(`arenacache: cannot attach (${STATUS_NAMES[slot] ?? slot})`);
    }
    try {
      return new ArenaCache(ex, handle.module, slot, true, cfg);
    } catch (e) {
      ex.detach(slot);
      throw e;
    }
  }

  private static slotFlags(canBlock: boolean | undefined, onEvict: unknown): number {
    if (canBlock !== undefined && typeof canBlock !== 'boolean') throw new TypeError('canBlock must be a boolean');
    return ((canBlock ?? defaultCanBlock()) ? SlotFlag.CAN_WAIT : 0) | (onEvict ? SlotFlag.LOG_KEYS_AND_VALUES : 0);
  }

  private static slotAddress(ex: CoreExports, slot: number): number {
    const view = new DataView(ex.memory.buffer);
    return view.getUint32(ex.header() + Header.SLOT_TABLE, true) + slot * SLOT_BYTES;
  }

  /**
   * A shared memory whose maximum is (an upper bound of) the arena's size, computed as init lays
   * the arena out. The header offset comes from a probe instance over a one-page memory.
   */
  private static async sharedMemory(module: WebAssembly.Module, options: SharedOptions, threads: number): Promise<WebAssembly.Memory> {
    let pages = MAX_PAGES;
    try {
      const probeMemory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
      const probe = await WebAssembly.instantiate(module, { env: { memory: probeMemory } });
      const header = (probe.exports as unknown as CoreExports).header();
      const segments = options.segments ?? 16;
      const maxBytes = options.maxBytes;
      const maxKey = options.maxKeyBytes ?? DEFAULT_MAX_KEY;
      let share = Math.floor(maxBytes / segments);
      share -= share % 16;
      const maxValue = Math.min(options.maxValueBytes ?? DEFAULT_MAX_VALUE, share - 32);
      let io = Math.max(PAGE, maxKey + maxValue + 64 + RECORD_HEADER);
      io = Math.ceil(io / 16) * 16;
      const log = options.onEvict ? io : 0;
      const end = header + 128 + threads * SLOT_BYTES + 64 + segments * 896 + 64 + threads * (io + log) + 64 + segments * share;
      // Bad options give NaN or nonsense here: initArena reports them properly.
      if (Number.isFinite(end) && end > 0) pages = Math.max(1, Math.min(MAX_PAGES, Math.ceil(end / PAGE)));
    } catch {
      // A module that cannot run over a one-page memory: keep the module's own maximum.
    }
    try {
      return new WebAssembly.Memory({ initial: 1, maximum: pages, shared: true });
    } catch (e) {
      throw new RangeError(`arenacache: cannot reserve ${pages * PAGE} bytes of shared WebAssembly memory (${(e as Error).message})`);
    }
  }

  /**
   * The creator sweeps TTLs for every thread: a timer visits one segment per tick (under that
   * segment's lock, so the other threads keep working on the other segments). It idles until
   * some thread stores an entry with an expiry (the header's TTL_SEEN word).
   */
  private startSharedSweeper(): void {
    if (this.sweepIntervalMs === 0 || this.sweepTimer !== undefined || this.closed) return;
    const period = Math.max(1, Math.floor(this.sweepIntervalMs / this.segments));
    const timer = setInterval(() => {
      if (this.u32[this.ttlSeen] !== 0) this.sweep();
    }, period);
    (timer as { unref?: () => void }).unref?.();
    this.sweepTimer = timer;
  }

  private static config(options: ArenaCacheOptions): Config {
    if (options.onEvict !== undefined && typeof options.onEvict !== 'function') throw new TypeError('onEvict must be a function');
    if (options.clock !== undefined && typeof options.clock !== 'function') throw new TypeError('clock must be a function');
    return {
      clock: options.clock ?? Date.now,
      onEvict: options.onEvict,
      sweepIntervalMs: checkInteger('sweepIntervalMs', options.sweepIntervalMs ?? 1000, 0, 2 ** 31 - 1),
    };
  }

  private static initArena(ex: CoreExports, options: ArenaCacheOptions, threads: number): void {
    if (typeof options !== 'object' || options === null) throw new TypeError('ArenaCache options must be an object');
    if (ex.abi_version() !== ABI_VERSION) throw new Error(`arenacache: core ABI ${ex.abi_version()}, host expects ${ABI_VERSION}`);
    const segments = checkInteger('segments', options.segments ?? 16, 1, 1024);
    if ((segments & (segments - 1)) !== 0) throw new RangeError(`segments must be a power of two, got ${segments}`);
    const maxBytes = checkInteger('maxBytes', options.maxBytes, segments * 1024, MAX_ARENA_BYTES);
    const maxKey = checkInteger('maxKeyBytes', options.maxKeyBytes ?? DEFAULT_MAX_KEY, 1, 65535);
    const maxValue = checkInteger('maxValueBytes', options.maxValueBytes ?? DEFAULT_MAX_VALUE, 0, MAX_ARENA_BYTES);
    const ttl = checkTtl(options.ttl ?? 0);
    const r = ex.init(maxBytes >>> 0, segments, threads, maxKey, maxValue, options.onEvict ? 1 : 0, ttl);
    if (r <= 0) {
      if (r === Status.NO_MEMORY) throw new RangeError(`arenacache: cannot allocate ${maxBytes} bytes of WebAssembly memory`);
      throw new RangeError(`arenacache: the core refused the configuration (${STATUS_NAMES[r] ?? r})`);
    }
    const dv = new DataView(ex.memory.buffer);
    if (dv.getUint32(r + Header.MAGIC, true) !== MAGIC) throw new Error('arenacache: arena header is corrupt');
  }

  // ---------------------------------------------------------------------------------------------
  // Single-key operations

  /** The value of `key` (a copy, valid after later evictions), promoting it; undefined if absent. */
  get(key: Key): Uint8Array | undefined {
    const klen = this.writeKey(key);
    const r = this.ex.get(this.slot, klen, this.now());
    if (r >= 0) return this.copyOut(this.io, r);
    if (this.log !== 0) this.drainAndDeliver();
    if (r === Status.NOT_FOUND) return undefined;
    throw this.failure(r, klen, 0);
  }

  /**
   * Copies the value of `key` into `target` at `offset` without allocating, promoting the entry
   * as get does. Returns the value's length, or -1 if absent. Throws RangeError (after the lookup
   * counted as a hit) when the value does not fit in `target`; the message names the size needed.
   */
  getInto(key: Key, target: Uint8Array, offset = 0): number {
    const klen = this.writeKey(key);
    const r = this.ex.get(this.slot, klen, this.now());
    if (r >= 0) {
      if (offset + r > target.length) {
        throw new RangeError(`getInto: the value is ${r} bytes; the target has ${target.length - offset} from offset ${offset}`);
      }
      target.set(this.u8.subarray(this.io, this.io + r), offset);
      return r;
    }
    if (this.log !== 0) this.drainAndDeliver();
    if (r === Status.NOT_FOUND) return -1;
    throw this.failure(r, klen, 0);
  }

  /** Like get, but does not promote the entry or count a hit/miss. */
  peek(key: Key): Uint8Array | undefined {
    const klen = this.writeKey(key);
    const r = this.ex.peek(this.slot, klen, this.now());
    if (r >= 0) return this.copyOut(this.io, r);
    if (this.log !== 0) this.drainAndDeliver();
    if (r === Status.NOT_FOUND) return undefined;
    throw this.failure(r, klen, 0);
  }

  /** Whether `key` is present and not expired (no promotion). */
  has(key: Key): boolean {
    const klen = this.writeKey(key);
    const r = this.ex.has(this.slot, klen, this.now());
    if (this.log !== 0) this.drainAndDeliver();
    return r === 1;
  }

  /**
   * Inserts or replaces `key`, evicting least recently used entries of its segment as needed.
   * Throws RangeError (and changes nothing) when the key or the entry is too large.
   */
  set(key: Key, value: Value, options?: SetOptions): this {
    const ttl = options === undefined || options.ttl === undefined ? -1 : checkTtl(options.ttl);
    const klen = this.writeKey(key);
    let vlen: number;
    if (value instanceof Uint8Array) {
      vlen = value.length;
      if (vlen <= this.maxValueBytes) this.u8.set(value, this.io + klen);
    } else if (typeof value === 'string') {
      vlen = writeUtf8(this.u8, this.io + klen, value, this.maxValueBytes);
      if (vlen < 0) vlen = utf8Length(value); // too large: the core refuses and counts it
    } else {
      throw new TypeError(`value must be a Uint8Array or a string, got ${typeof value}`);
    }
    const now = ttl > 0 ? this.clock() : this.now();
    let r = this.ex.set(this.slot, klen, vlen, ttl, now);
    if (this.log !== 0) {
      const records: EvictRecord[] = [];
      this.drainInto(records);
      while (r === Status.LOG_FULL) {
        r = this.ex.set(this.slot, klen, vlen, ttl, now);
        this.drainInto(records);
      }
      this.deliver(records);
    }
    if (r < 0) throw this.failure(r, klen, vlen);
    if (ttl > 0 && this.sweepTimer === undefined) this.startSweeper();
    return this;
  }

  /** Removes `key`; true if a live entry was removed. */
  delete(key: Key): boolean {
    const klen = this.writeKey(key);
    const r = this.ex.remove(this.slot, klen, this.now());
    if (this.log !== 0) this.drainAndDeliver();
    return r === 1;
  }

  /** Removes every entry (segment by segment); counters are kept. */
  clear(): void {
    this.ex.clear(this.slot);
  }

  /** Number of entries. */
  get size(): number {
    return this.ex.count() >>> 0;
  }

  /** Bytes charged to entries (header + key + value + alignment). */
  get bytes(): number {
    return this.ex.used() >>> 0; // u32: may exceed 2 GiB
  }

  /** The arena's configured budget in bytes (entries + index). */
  get maxBytes(): number {
    return this.u32[(this.header + Header.MAX_BYTES) >> 2];
  }

  /** What an entry with these key and value sizes is charged. */
  static entrySize(keyBytes: number, valueBytes: number): number {
    return entrySize(keyBytes, valueBytes);
  }

  // ---------------------------------------------------------------------------------------------
  // Batches: one crossing into wasm for many keys

  /** Gets many keys; result[i] is the value of keys[i] or undefined. Promotes hits. */
  getMany(keys: readonly Key[]): (Uint8Array | undefined)[] {
    const out: (Uint8Array | undefined)[] = new Array(keys.length);
    const io = this.io;
    const inputLimit = io + Math.max(this.ioBytes >> 1, 4 * BATCH_KEYS + this.maxKeyBytes + 8);
    let i = 0;
    while (i < keys.length) {
      const maxN = Math.min(keys.length - i, BATCH_KEYS);
      const keysOff = 4 * maxN;
      let kp = io + keysOff;
      let n = 0;
      while (n < maxN) {
        const room = Math.min(this.maxKeyBytes, inputLimit - kp);
        const klen = this.writeKeyAt(keys[i + n], kp, room, n === 0);
        if (klen < 0) break; // no room left in this batch
        this.u32[(io >> 2) + n] = klen;
        kp += klen;
        n++;
      }
      const outOff = (kp - io + 7) & ~7;
      const table = (io + outOff) >> 2;
      let start = 0;
      while (start < n) {
        const now = this.now();
        const r = this.ex.get_many(this.slot, n, start, keysOff, outOff, now);
        let vp = io + outOff + 4 * n;
        for (let j = start; j < r; j++) {
          const len = this.i32[table + j];
          if (len >= 0) {
            out[i + j] = this.copyOut(vp, len);
            vp += len;
          } else {
            out[i + j] = undefined;
          }
        }
        if (this.log !== 0) this.drainAndDeliver();
        if (r === start) {
          // This value does not fit the output area next to the batch: fetch it alone.
          out[i + r] = this.get(keys[i + r]);
          n = r + 1;
          break;
        }
        start = r;
      }
      i += n;
    }
    return out;
  }

  /**
   * Sets many entries with few crossings into wasm. The whole batch is validated first: on bad
   * input it throws and changes nothing.
   */
  setMany(entries: Iterable<readonly [Key, Value, SetOptions?]>): void {
    const list = Array.isArray(entries) ? (entries as readonly (readonly [Key, Value, SetOptions?])[]) : [...entries];
    const ttls = new Float64Array(list.length);
    let anyTtl = false;
    for (let i = 0; i < list.length; i++) {
      const entry = list[i];
      if (!Array.isArray(entry)) throw new TypeError(`setMany: entry ${i} must be a [key, value, options?] array`);
      const [key, value, options] = entry;
      const klen = byteLength(key);
      if (klen < 0) throw new TypeError(`setMany: key ${i} must be a string or Uint8Array`);
      if (klen > this.maxKeyBytes) throw new RangeError(`setMany: key ${i} is ${klen} bytes; maxKeyBytes is ${this.maxKeyBytes}`);
      const vlen = byteLength(value);
      if (vlen < 0) throw new TypeError(`setMany: value ${i} must be a Uint8Array or a string`);
      this.checkEntrySize(klen, vlen, `setMany: entry ${i}`);
      const ttl = options?.ttl === undefined ? -1 : checkTtl(options.ttl, `setMany: entry ${i} ttl`);
      ttls[i] = ttl;
      if (ttl > 0) anyTtl = true;
    }
    const io = this.io;
    const end = io + this.ioBytes;
    const records: EvictRecord[] = [];
    let i = 0;
    while (i < list.length) {
      let p = io;
      let n = 0;
      while (i + n < list.length) {
        const [key, value] = list[i + n];
        const kp = p + BATCH_RECORD_HEADER;
        const klen = this.writeKeyAt(key, kp, Math.min(this.maxKeyBytes, end - kp), false);
        if (klen < 0) break;
        let vlen: number;
        if (value instanceof Uint8Array) {
          vlen = value.length;
          if (kp + klen + vlen > end) break;
          this.u8.set(value, kp + klen);
        } else {
          vlen = writeUtf8(this.u8, kp + klen, value as string, Math.min(this.maxValueBytes, end - kp - klen));
          if (vlen < 0) break;
        }
        const w = p >> 2;
        this.u32[w] = klen;
        this.u32[w + 1] = vlen;
        this.dv.setFloat64(p + 8, ttls[i + n], true);
        this.i32[w + 4] = 0;
        this.u32[w + 5] = 0;
        p += (BATCH_RECORD_HEADER + klen + vlen + 7) & ~7;
        n++;
      }
      if (n === 0) throw new Error('arenacache: setMany entry does not fit the I/O area'); // validated above
      const now = anyTtl ? this.clock() : this.now();
      let start = 0;
      while (start < n) {
        start = this.ex.set_many(this.slot, n, start, now);
        if (this.log !== 0) this.drainInto(records);
      }
      i += n;
    }
    if (this.log !== 0) this.deliver(records);
    if (anyTtl && this.sweepTimer === undefined) this.startSweeper();
  }

  // ---------------------------------------------------------------------------------------------
  // TTL sweeping

  /**
   * Sweeps one segment (round-robin): examines at most `maxSteps` entries under that segment's
   * lock and removes the expired ones. Returns how many expired.
   */
  sweep(maxSteps = 4096): number {
    const seg = this.sweepNext;
    this.sweepNext = (seg + 1) % this.segments;
    const now = this.clock();
    const records: EvictRecord[] = [];
    const r = this.ex.sweep(this.slot, seg, maxSteps, now);
    if (this.log !== 0) {
      this.drainInto(records);
      this.deliver(records);
    }
    return r;
  }

  /** Removes every expired entry now, one segment and a bounded batch at a time. */
  purgeStale(): number {
    let total = 0;
    const now = this.clock();
    for (let seg = 0; seg < this.segments; seg++) {
      this.ex.stats(this.slot, seg);
      let remaining = this.u32[(this.io + SegmentField.COUNT) >> 2] + 1;
      while (remaining > 0) {
        const steps = Math.min(remaining, 4096);
        total += this.ex.sweep(this.slot, seg, steps, now);
        remaining -= steps;
        if (this.log !== 0) this.drainAndDeliver();
      }
    }
    return total;
  }

  private startSweeper(): void {
    if (this.sweepIntervalMs === 0 || this.closed) return;
    // One segment per tick keeps each tick short; every segment is visited each `segments` ticks.
    const period = Math.max(1, Math.floor(this.sweepIntervalMs / this.segments));
    const timer = setInterval(() => this.sweep(), period);
    (timer as { unref?: () => void }).unref?.();
    this.sweepTimer = timer;
  }

  // ---------------------------------------------------------------------------------------------
  // Stats and integrity

  stats(): CacheStats {
    const segments: SegmentStats[] = [];
    const total: SegmentStats = {
      entries: 0, bytesUsed: 0, budget: 0, freeBytes: 0, freeBlocks: 0, untouchedBytes: 0, hits: 0, misses: 0,
      sets: 0, deletes: 0, evictions: 0, expirations: 0, rejected: 0, compactions: 0, recoveries: 0,
    };
    const io = this.io;
    const dv = this.dv;
    const u64 = (off: number) => Number(dv.getBigUint64(io + off, true));
    const u32 = (off: number) => dv.getUint32(io + off, true);
    for (let i = 0; i < this.segments; i++) {
      this.ex.stats(this.slot, i);
      const s: SegmentStats = {
        entries: u32(SegmentField.COUNT),
        bytesUsed: u32(SegmentField.USED),
        budget: u32(SegmentField.BUDGET),
        freeBytes: u32(SegmentField.FREE_BYTES),
        freeBlocks: u32(SegmentField.FREE_COUNT),
        untouchedBytes: u32(SegmentField.END) - u32(SegmentField.TOP),
        hits: u64(SegmentField.HITS),
        misses: u64(SegmentField.MISSES),
        sets: u64(SegmentField.SETS),
        deletes: u64(SegmentField.DELETES),
        evictions: u64(SegmentField.EVICTIONS),
        expirations: u64(SegmentField.EXPIRATIONS),
        rejected: u64(SegmentField.REJECTED),
        compactions: u64(SegmentField.COMPACTIONS),
        recoveries: u64(SegmentField.RECOVERIES),
      };
      segments.push(s);
      for (const k of Object.keys(total) as (keyof SegmentStats)[]) total[k] += s[k];
    }
    const reads = total.hits + total.misses;
    const allocated = total.freeBytes + total.bytesUsed;
    return {
      ...total,
      segments,
      memoryBytes: this.u32[(this.header + Header.END) >> 2],
      hitRatio: reads === 0 ? 0 : total.hits / reads,
      fragmentation: allocated === 0 ? 0 : total.freeBytes / allocated,
    };
  }

  /**
   * Walks every segment and checks the core's invariants (list ↔ index agree, bytes in use = sum
   * of entries ≤ budget, free blocks coalesced and listed, no entry reachable twice). Throws on
   * the first violation.
   */
  checkIntegrity(): void {
    for (let i = 0; i < this.segments; i++) {
      const r = this.ex.check(this.slot, i);
      if (r !== 0) throw new Error(`arenacache: segment ${i} violates invariant ${r}`);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Threads (shared arenas)

  /** A handle other threads can attach with (shared caches only). */
  get handle(): SharedArenaHandle {
    if (!this.shared) throw new Error('arenacache: only a shared cache (createShared) has a handle');
    if (this.closed) throw new Error('arenacache: this cache is closed');
    return { module: this.moduleRef, memory: this.ex.memory };
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
    const threads = this.u32[(this.header + Header.THREADS) >> 2];
    let recovered = 0;
    for (let s = 0; s < threads; s++) {
      if (s === this.slot) continue;
      // The core matches slot state and tag with one 64-bit CAS: a slot freed and claimed again
      // by another thread is never released by mistake.
      const r = this.ex.release_slot(s, tag >>> 0, this.slot);
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
    if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    if (this.shared) {
      this.ex.detach(this.slot);
      const memory = this.ex.memory;
      (this as unknown as { ex: CoreExports }).ex = new Proxy({} as CoreExports, {
        get: (_target, name) => {
          if (name === 'memory') return memory;
          return () => {
            throw new Error('arenacache: this cache is closed (its thread slot was given back)');
          };
        },
      });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Internals

  /** A copy of `len` bytes at `at` that no later cache operation can change. */
  private copyOut(at: number, len: number): Uint8Array {
    if (len > POOLED_MAX) return this.u8.slice(at, at + len);
    let off = this.poolOffset;
    if (off + len > POOL_BYTES) {
      this.pool = new ArrayBuffer(POOL_BYTES);
      this.poolU8 = new Uint8Array(this.pool);
      off = 0;
    }
    this.poolU8.set(this.u8.subarray(at, at + len), off);
    this.poolOffset = (off + len + 7) & ~7;
    return new Uint8Array(this.pool, off, len);
  }

  /** The clock, read only once some entry has had an expiry (until then time cannot matter). */
  private now(): number {
    return this.u32[this.ttlSeen] !== 0 ? this.clock() : 0;
  }

  /** Writes the key at the start of the I/O area; returns its byte length or throws. */
  private writeKey(key: Key): number {
    if (typeof key === 'string') {
      const n = writeUtf8(this.u8, this.io, key, this.maxKeyBytes, this.keyView);
      if (n < 0) throw new RangeError(`key is ${utf8Length(key)} bytes; maxKeyBytes is ${this.maxKeyBytes}`);
      return n;
    }
    if (key instanceof Uint8Array) {
      if (key.length > this.maxKeyBytes) throw new RangeError(`key is ${key.length} bytes; maxKeyBytes is ${this.maxKeyBytes}`);
      this.u8.set(key, this.io);
      return key.length;
    }
    throw new TypeError(`key must be a string or a Uint8Array, got ${key === null ? 'null' : typeof key}`);
  }

  /** Writes a key for a batch; -1 if it does not fit in `room` (when `mustFit`, throws instead). */
  private writeKeyAt(key: Key, at: number, room: number, mustFit: boolean): number {
    if (typeof key === 'string') {
      const n = writeUtf8(this.u8, at, key, room);
      if (n >= 0) return n;
    } else if (key instanceof Uint8Array) {
      if (key.length <= room) {
        this.u8.set(key, at);
        return key.length;
      }
    } else {
      throw new TypeError(`key must be a string or a Uint8Array, got ${key === null ? 'null' : typeof key}`);
    }
    const len = byteLength(key);
    if (len > this.maxKeyBytes) throw new RangeError(`key is ${len} bytes; maxKeyBytes is ${this.maxKeyBytes}`);
    if (mustFit) throw new RangeError(`key of ${len} bytes does not fit the I/O area`);
    return -1;
  }

  private checkEntrySize(klen: number, vlen: number, what: string): void {
    if (vlen > this.maxValueBytes) {
      throw new RangeError(`${what}: value is ${vlen} bytes; maxValueBytes is ${this.maxValueBytes}`);
    }
    if (entrySize(klen, vlen) > this.segmentBudget) {
      throw new RangeError(
        `${what}: entry needs ${entrySize(klen, vlen)} bytes (32 B header + ${klen} B key + ${vlen} B value, 16-aligned); ` +
          `one segment holds ${this.segmentBudget} bytes`,
      );
    }
  }

  private failure(status: number, klen: number, vlen: number): Error {
    if (status === Status.KEY_TOO_LONG) return new RangeError(`key is ${klen} bytes; maxKeyBytes is ${this.maxKeyBytes}`);
    if (status === Status.TOO_LARGE) {
      try {
        this.checkEntrySize(klen, vlen, 'set');
      } catch (e) {
        return e as RangeError;
      }
    }
    return new Error(`arenacache: core returned ${STATUS_NAMES[status] ?? status}`);
  }

  private drainInto(records: EvictRecord[]): void {
    const log = this.log;
    const count = this.u32[log >> 2];
    if (count === 0) return;
    let p = log + LOG_HEADER;
    for (let k = 0; k < count; k++) {
      const w = p >> 2;
      const reason = this.u32[w];
      const klen = this.u32[w + 1];
      const vlen = this.u32[w + 2];
      const keyStart = p + RECORD_HEADER;
      records.push([
        this.u8.slice(keyStart, keyStart + klen),
        this.u8.slice(keyStart + klen, keyStart + klen + vlen),
        reason === Reason.EXPIRE ? 'expire' : 'evict',
      ]);
      p += (RECORD_HEADER + klen + vlen + 3) & ~3;
    }
    this.u32[log >> 2] = 0;
    this.u32[(log >> 2) + 1] = 0;
  }

  private drainAndDeliver(): void {
    if (this.u32[this.log >> 2] === 0) return;
    const records: EvictRecord[] = [];
    this.drainInto(records);
    this.deliver(records);
  }

  /** Calls onEvict after the core call finished, so a callback may use the cache again. */
  private deliver(records: EvictRecord[]): void {
    const onEvict = this.onEvict;
    if (!onEvict || records.length === 0) return;
    let error: unknown;
    for (const [k, v, why] of records) {
      try {
        onEvict(k, v, why);
      } catch (e) {
        error ??= e;
      }
    }
    if (error !== undefined) throw error;
  }
}

export type { CoreFlavor };
