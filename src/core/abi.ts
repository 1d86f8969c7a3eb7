/**
 * The core's ABI as the host sees it: export signatures, header/segment offsets and return codes.
 * Mirrors assembly/layout.ts; docs/ABI.md is the contract for both.
 */

export const ABI_VERSION = 1;

/** Return codes of the core. Non-negative results are lengths or counts. */
export const Status = {
  OK: 0,
  NOT_FOUND: -1,
  KEY_TOO_LONG: -2,
  TOO_LARGE: -3,
  BAD_ARG: -4,
  LOG_FULL: -5,
  NOT_READY: -6,
  NO_MEMORY: -7,
  NO_SLOT: -8,
} as const;

export const STATUS_NAMES: Record<number, string> = {
  [-1]: 'NOT_FOUND',
  [-2]: 'KEY_TOO_LONG',
  [-3]: 'TOO_LARGE',
  [-4]: 'BAD_ARG',
  [-5]: 'LOG_FULL',
  [-6]: 'NOT_READY',
  [-7]: 'NO_MEMORY',
  [-8]: 'NO_SLOT',
};

/** Header field offsets (bytes from the header pointer). */
export const Header = {
  MAGIC: 0,
  ABI: 4,
  STATE: 8,
  SEGMENTS: 12,
  SEG_BITS: 16,
  THREADS: 20,
  REGION: 24,
  BUCKETS: 28,
  IO_BYTES: 32,
  LOG_BYTES: 36,
  MAX_KEY: 40,
  MAX_VALUE: 44,
  MAX_BYTES: 48,
  SEG_TABLE: 52,
  SLOT_TABLE: 56,
  IO_BASE: 60,
  DATA_BASE: 64,
  END: 68,
  SEG_STRIDE: 72,
  IO_STRIDE: 76,
  DEFAULT_TTL: 80,
  TTL_SEEN: 88,
} as const;

export const MAGIC = 0x43414341;

/** Offsets in the segment snapshot that `stats(slot, seg)` copies to the I/O area. */
export const SegmentField = {
  LOCK: 0,
  HEAD: 4,
  TAIL: 8,
  COUNT: 12,
  USED: 16,
  BUDGET: 20,
  START: 24,
  END: 28,
  TOP: 32,
  FREE_BYTES: 48,
  FREE_COUNT: 52,
  HITS: 128,
  MISSES: 136,
  SETS: 144,
  DELETES: 152,
  EVICTIONS: 160,
  EXPIRATIONS: 168,
  REJECTED: 176,
  COMPACTIONS: 184,
  RECOVERIES: 192,
} as const;

/** Bytes of header in front of every entry; an entry occupies align16(32 + key + value). */
export const ENTRY_HEADER = 32;
/** Entries, regions and segment shares are multiples of this. */
export const ENTRY_ALIGN = 16;
export const entrySize = (keyBytes: number, valueBytes: number): number =>
  (ENTRY_HEADER + keyBytes + valueBytes + ENTRY_ALIGN - 1) & ~(ENTRY_ALIGN - 1);

// ---- Layout and limits that `init` applies (docs/ABI.md sections 3, 4 and 7) ----

/** Bytes of the arena header at `header()`. */
export const HEADER_BYTES = 128;
/** Bytes per thread slot in the slot table: [i32 state][u32 tag][u32 flags][u32 reserved]. */
export const SLOT_BYTES = 16;
export const SlotField = { STATE: 0, TAG: 4, FLAGS: 8 } as const;
/** Bytes per segment header in the segment table. */
export const SEGMENT_HEADER_BYTES = 896;
/** init aligns the segment table, the I/O areas and the data area to this many bytes. */
export const TABLE_ALIGN = 64;
/** IO_BYTES = max(IO_MIN_BYTES, align16(maxKey + MAX_VALUE + IO_SLACK + RECORD_HEADER)). */
export const IO_MIN_BYTES = 65536;
export const IO_SLACK = 64;
/** Bytes `stats(slot, seg)` copies to the I/O area. */
export const STATS_BYTES = 200;
/** init's argument limits. */
export const MAX_SEGMENTS = 1024;
export const MAX_THREADS = 1024;
export const MAX_KEY_LIMIT = 65535;
/** `(maxBytes / segments) & ~15` must be at least this. */
export const MIN_SEGMENT_SHARE = 1024;
/** init gives a segment the smallest power of two >= MIN_BUCKETS and >= share / REGION_BYTES_PER_BUCKET buckets of BUCKET_BYTES. */
export const MIN_BUCKETS = 8;
export const REGION_BYTES_PER_BUCKET = 128;
export const BUCKET_BYTES = 4;
/** The largest u32 (maxSteps of a sweep that examines a whole segment). */
export const U32_MAX = 0xffff_ffff;
/** The whole arena must end below this offset (wasm32 addresses 4 GiB). */
export const ARENA_END_LIMIT = 0xffff_0000;
export const PAGE_BYTES = 65536;
export const MAX_PAGES = 65536;

/** Rounds `n` up to a multiple of `align` (a power of two). */
export const alignUp = (n: number, align: number): number => Math.ceil(n / align) * align;

/** Thread slot flags (set_flags / attach). */
export const SlotFlag = {
  CAN_WAIT: 1,
  LOG_KEYS: 1 << 1,
  LOG_KEYS_AND_VALUES: 2 << 1,
} as const;

/** Eviction log: [u32 count][u32 bytes], then records [u32 reason][u32 klen][u32 vlen][key][value] (4-aligned). */
export const LOG_HEADER = 8;
export const RECORD_HEADER = 12;
export const Reason = { EVICT: 1, EXPIRE: 2 } as const;
export const logRecordSize = (keyBytes: number, valueBytes: number): number =>
  (RECORD_HEADER + keyBytes + valueBytes + 3) & ~3;

/** set_many record header: [u32 klen][u32 vlen][f64 ttl][i32 status][u32 0], then key and value, 8-aligned. */
export const BATCH_RECORD_HEADER = 24;
export const BatchRecordField = { KLEN: 0, VLEN: 4, TTL: 8, STATUS: 16, RESERVED: 20 } as const;
export const batchRecordSize = (keyBytes: number, valueBytes: number): number =>
  (BATCH_RECORD_HEADER + keyBytes + valueBytes + 7) & ~7;
/** get_many: the key-length table and the result table hold one u32/i32 per key; results are 4-aligned. */
export const BATCH_WORD = 4;

export interface CoreExports {
  memory: WebAssembly.Memory;
  abi_version(): number;
  header(): number;
  init(maxBytes: number, segments: number, threads: number, maxKey: number, maxValue: number, logEnabled: number, defaultTtl: number): number;
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
  peek(slot: number, klen: number, now: number): number;
  has(slot: number, klen: number, now: number): number;
  remove(slot: number, klen: number, now: number): number;
  clear(slot: number): void;
  sweep(slot: number, segment: number, maxSteps: number, now: number): number;
  get_many(slot: number, n: number, start: number, keysOff: number, outOff: number, now: number): number;
  set_many(slot: number, n: number, start: number, now: number): number;
  stats(slot: number, segment: number): number;
  count(): number;
  used(): number;
  check(slot: number, segment: number): number;
}
