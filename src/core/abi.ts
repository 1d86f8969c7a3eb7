/**
 * The core's ABI as the host sees it. Every number comes from abi.generated.ts, which
 * scripts/gen-abi.mjs generates from assembly/abi.ts (the one source); this file only names them
 * for the host and declares the exports' signatures. docs/ABI.md is the contract.
 */
import * as g from './abi.generated.js';

export const { ABI_VERSION, MAGIC } = g;

/** Return codes of the core. Non-negative results are lengths or counts. */
export const Status = {
  OK: g.OK,
  NOT_FOUND: g.NOT_FOUND,
  KEY_TOO_LONG: g.E_KEY_TOO_LONG,
  TOO_LARGE: g.E_TOO_LARGE,
  BAD_ARG: g.E_BAD_ARG,
  LOG_FULL: g.E_LOG_FULL,
  NOT_READY: g.E_NOT_READY,
  NO_MEMORY: g.E_NO_MEMORY,
  NO_SLOT: g.E_NO_SLOT,
} as const;

export const STATUS_NAMES: Record<number, string> = Object.fromEntries(Object.entries(Status).map(([k, v]) => [v, k]));

/** Header field offsets (bytes from the header pointer). */
export const Header = {
  MAGIC: g.H_MAGIC,
  ABI: g.H_ABI,
  STATE: g.H_STATE,
  SEGMENTS: g.H_SEGMENTS,
  SEG_BITS: g.H_SEG_BITS,
  THREADS: g.H_THREADS,
  POLICY: g.H_POLICY,
  ENTRY_HEADER: g.H_ENTRY_HEADER,
  REGION: g.H_REGION,
  BUDGET: g.H_BUDGET,
  SEG_ENTRIES: g.H_SEG_ENTRIES,
  IO_BYTES: g.H_IO_BYTES,
  LOG_BYTES: g.H_LOG_BYTES,
  MAX_KEY: g.H_MAX_KEY,
  MAX_VALUE: g.H_MAX_VALUE,
  MAX_BYTES: g.H_MAX_BYTES,
  MAX_ENTRIES: g.H_MAX_ENTRIES,
  SLOT_TABLE: g.H_SLOT_TABLE,
  END: g.H_END,
  DATA_BASE: g.H_DATA_BASE,
  SMALL_BYTES: g.H_SMALL_BYTES,
  TTL_SEEN: g.H_TTL_SEEN,
  EPOCH: g.H_EPOCH,
  ENTRY_LIMIT: g.H_ENTRY_LIMIT,
  DEFAULT_TTL: g.H_DEFAULT_TTL,
} as const;

/** The eviction policies, by the names the host API uses. */
export const POLICIES = { lru: g.POLICY_LRU, clock: g.POLICY_CLOCK, s3fifo: g.POLICY_S3FIFO } as const;
export type PolicyName = keyof typeof POLICIES;
export const POLICY_NAMES = Object.keys(POLICIES) as PolicyName[];

/** Bytes in front of every entry's key under `policy`. */
export function entryHeaderOf(policy: PolicyName): number {
  return policy === 'lru' ? g.ENTRY_HEADER_LRU : g.ENTRY_HEADER;
}

/** What an entry costs under `policy`: align4(header + key + value). */
export function entryCost(policy: PolicyName, keyBytes: number, valueBytes: number): number {
  return (entryHeaderOf(policy) + keyBytes + valueBytes + g.ENTRY_ALIGN - 1) & ~(g.ENTRY_ALIGN - 1);
}

export const SlotField = { STATE: g.SL_STATE, TAG: g.SL_TAG, FLAGS: g.SL_FLAGS } as const;

/** Thread slot flags (set_flags / attach). */
export const SlotFlag = {
  CAN_WAIT: g.FLAG_CAN_WAIT,
  LOG_KEYS: g.LOG_KEYS << g.LOG_MODE_SHIFT,
  LOG_KEYS_AND_VALUES: g.LOG_KEYS_AND_VALUES << g.LOG_MODE_SHIFT,
  LOG_REMOVALS: g.FLAG_LOG_REMOVALS,
} as const;

export const InitFlag = { LOG: g.INIT_LOG, PREFAULT: g.INIT_PREFAULT } as const;

/** Eviction log: [u32 count][u32 bytes], then records [u32 reason][u32 klen][u32 vlen][key][value] (4-aligned). */
export const { LOG_HEADER, REC_HEADER: RECORD_HEADER } = g;
export const Reason = { EVICT: g.REASON_EVICT, EXPIRE: g.REASON_EXPIRE, DELETE: g.REASON_DELETE, REPLACE: g.REASON_REPLACE } as const;
export const logRecordSize = (keyBytes: number, valueBytes: number): number =>
  (RECORD_HEADER + keyBytes + valueBytes + 3) & ~3;

/** set_many record header: [u32 klen][u32 vlen][f64 ttl][i32 status][u32 0], then key and value, 8-aligned. */
export const BATCH_RECORD_HEADER = g.BATCH_RECORD_HEADER;
export const BatchRecordField = { KLEN: 0, VLEN: 4, TTL: 8, STATUS: 16, RESERVED: 20 } as const;
export const batchRecordSize = (keyBytes: number, valueBytes: number): number =>
  (BATCH_RECORD_HEADER + keyBytes + valueBytes + 7) & ~7;
/** get_many: the key-length table and the result table hold one u32/i32 per key; results are 4-aligned. */
export const BATCH_WORD = 4;

/** The segment snapshot `stats(slot, seg)` writes to the I/O area. */
export const Stats = {
  ENTRIES: g.ST_ENTRIES, BYTES_USED: g.ST_BYTES_USED, BUDGET: g.ST_BUDGET, REGION: g.ST_REGION,
  MAX_ENTRIES: g.ST_MAX_ENTRIES, LOG_BYTES: g.ST_LOG_BYTES, SMALL_ENTRIES: g.ST_SMALL_ENTRIES,
  SMALL_BYTES: g.ST_SMALL_BYTES, HITS: g.ST_HITS, MISSES: g.ST_MISSES, SETS: g.ST_SETS, DELETES: g.ST_DELETES,
  EVICTIONS: g.ST_EVICTIONS, EXPIRATIONS: g.ST_EXPIRATIONS, REJECTED: g.ST_REJECTED, MOVES: g.ST_MOVES,
  RECOVERIES: g.ST_RECOVERIES, INDEX_EVICTIONS: g.ST_INDEX_EVICTIONS, GHOST_HITS: g.ST_GHOST_HITS,
  SWEEP_PASSES: g.ST_SWEEP_PASSES, SIZE: g.STATS_SIZE,
} as const;

export const Sweep = { RESTART: g.SWEEP_RESTART, REMOVED: g.SW_REMOVED, EXAMINED: g.SW_EXAMINED, PASS_DONE: g.SW_PASS_DONE } as const;

export const Info = { VLEN: g.INFO_VLEN, COST: g.INFO_COST, EXPIRES: g.INFO_EXPIRES } as const;

export const Scan = {
  STATE: g.SCAN_STATE, RING: g.SCAN_RING, LSN: g.SCAN_LSN, KEY: g.SCAN_KEY, START: g.SCAN_START, MORE: g.SCAN_MORE, DONE: g.SCAN_DONE,
  VALUES: g.SCAN_VALUES, NEWEST_FIRST: g.SCAN_NEWEST_FIRST, ONE_QUEUE: g.SCAN_ONE_QUEUE, RECORD_HEADER: g.SCAN_RECORD_HEADER,
} as const;
/** Where scan records start in the I/O area: after the cursor and one key. */
export const scanRecordsAt = (maxKeyBytes: number): number => (Scan.KEY + maxKeyBytes + 7) & ~7;

// ---- limits init applies (docs/ABI.md sections 3 and 11) ----
export const { MIN_SEGMENT_STORAGE, MIN_SEG_ENTRIES, MIN_SEG_ENTRIES_S3FIFO, DEFAULT_BYTES_PER_ENTRY, TABLE_ALIGN } = g;
export const MAX_SEGMENTS = 1024;
export const MAX_THREADS = 1024;
export const MAX_KEY_LIMIT = 65535;
/** The largest u32. */
export const U32_MAX = 0xffff_ffff;
/** The whole arena must end below this offset (wasm32 addresses 4 GiB). */
export const ARENA_END_LIMIT = 0xffff_0000;
export const PAGE_BYTES = 65536;
export const MAX_PAGES = 65536;

/** Rounds `n` up to a multiple of `align` (a power of two). */
export const alignUp = (n: number, align: number): number => Math.ceil(n / align) * align;

export interface CoreExports {
  memory: WebAssembly.Memory;
  abi_version(): number;
  header(): number;
  arena_size(maxBytes: number, segments: number, threads: number, maxKey: number, maxValue: number, maxEntries: number, policy: number, flags: number): number;
  init(
    maxBytes: number, segments: number, threads: number, maxKey: number, maxValue: number, maxEntries: number, policy: number,
    flags: number, defaultTtl: number, now: number, seed0: number, seed1: number, seed2: number, seed3: number,
  ): number;
  ready(): number;
  attach(tag: number, flags: number): number;
  detach(slot: number): number;
  release_slot(slot: number, tag: number, by: number): number;
  set_flags(slot: number, flags: number): void;
  io_ptr(slot: number): number;
  log_ptr(slot: number): number;
  hash(slot: number, len: number): number;
  set(slot: number, klen: number, vlen: number, ttl: number, now: number): number;
  get(slot: number, klen: number, now: number): number;
  get_ref(slot: number, klen: number, now: number): number;
  peek(slot: number, klen: number, now: number): number;
  has(slot: number, klen: number, now: number): number;
  remove(slot: number, klen: number, now: number): number;
  info(slot: number, klen: number, now: number): number;
  clear(slot: number): void;
  sweep(slot: number, segment: number, maxSteps: number, now: number, flags: number): number;
  scan(slot: number, segment: number, max: number, flags: number, now: number): number;
  get_many(slot: number, n: number, start: number, keysOff: number, outOff: number, now: number): number;
  set_many(slot: number, n: number, start: number, now: number): number;
  stats(slot: number, segment: number): number;
  count(): number;
  used(): number;
  check(slot: number, segment: number): number;
}
