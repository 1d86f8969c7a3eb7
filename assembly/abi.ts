// The public ABI of the core: every constant a host needs (return codes, header and stats offsets,
// flags, record layouts, entry cost). This file is the ONE source: scripts/gen-abi.mjs turns it
// into src/core/abi.generated.ts, and a test checks the two agree. docs/ABI.md explains each value.
// Keep every value a plain literal (decimal or hex): the generator reads them, it does not evaluate.

export const MAGIC: u32 = 0x43414341; // the bytes "ACAC" (ArenaCAChe) in little-endian order
export const ABI_VERSION: u32 = 2;

// ---- return codes ----
export const OK: i32 = 0;
export const NOT_FOUND: i32 = -1;
export const E_KEY_TOO_LONG: i32 = -2;
export const E_TOO_LARGE: i32 = -3;
export const E_BAD_ARG: i32 = -4;
export const E_LOG_FULL: i32 = -5;
export const E_NOT_READY: i32 = -6;
export const E_NO_MEMORY: i32 = -7;
export const E_NO_SLOT: i32 = -8;

// ---- eviction policies (init's `policy`) ----
export const POLICY_LRU: u32 = 0; // exact LRU: a doubly linked list, a hit relinks the entry
export const POLICY_CLOCK: u32 = 1; // FIFO with second chance: a hit sets a bit in the index slot
export const POLICY_S3FIFO: u32 = 2; // small + main FIFO and a ghost filter (Yang et al., SOSP'23)
export const POLICY_COUNT: u32 = 3;

// ---- policy parameters (docs/design.md says why these values) ----
export const LRU_SLACK_SHIFT: u32 = 3; // lru keeps 1/8 of a ring free for cleaning
export const CLOCK_MAX_FREQ: u32 = 1; // clock's access bits saturate here (1: classic CLOCK)
export const CLOCK_CHANCES: u32 = 8; // second chances clock gives per call
export const S3_SMALL_PERCENT: u32 = 20; // share of a segment's storage in s3fifo's small queue
export const S3_MOVE_FREQ: u32 = 1; // a small-queue entry hit this often moves to main
export const S3_MAX_FREQ: u32 = 3; // s3fifo's access counter saturates here
export const S3_CHANCES: u32 = 8; // second chances s3fifo's main queue gives per call

// ---- sizing ----
// Without an entry limit (init's maxEntries = 0), the index is sized for one entry per this many
// bytes of maxBytes; smaller entries are then limited by count rather than bytes.
export const DEFAULT_BYTES_PER_ENTRY: u32 = 64;
export const MIN_SEGMENT_STORAGE: u32 = 1024; // bytes of entry storage a segment needs at least
// A given maxEntries is a bound: each segment holds at most floor(maxEntries / segments) entries,
// and at least this many (s3fifo's small and main queues each need one).
export const MIN_SEG_ENTRIES: u32 = 1;
export const MIN_SEG_ENTRIES_S3FIFO: u32 = 2;

// ---- init flags ----
export const INIT_LOG: u32 = 1; // give every slot an eviction log
export const INIT_PREFAULT: u32 = 2; // touch every page of the arena during init

// ---- thread slot flags (attach / set_flags) ----
export const FLAG_CAN_WAIT: u32 = 1; // the thread may block in memory.atomic.wait32
export const LOG_MODE_SHIFT: u32 = 1; // bits 1-2: eviction log mode
export const LOG_MODE_MASK: u32 = 3;
export const LOG_OFF: u32 = 0;
export const LOG_KEYS: u32 = 1;
export const LOG_KEYS_AND_VALUES: u32 = 2;
export const FLAG_LOG_REMOVALS: u32 = 8; // also log deletes (remove) and replaced values (set)

// ---- header: HEADER_SIZE bytes at header(); u32 unless noted ----
export const H_MAGIC: u32 = 0;
export const H_ABI: u32 = 4;
export const H_STATE: u32 = 8; // 0 empty, 1 initialising, 2 ready
export const H_SEGMENTS: u32 = 12;
export const H_SEG_BITS: u32 = 16;
export const H_THREADS: u32 = 20;
export const H_POLICY: u32 = 24;
export const H_ENTRY_HEADER: u32 = 28; // bytes of header in front of every entry's key
export const H_REGION: u32 = 32; // bytes of one segment's entry storage
export const H_BUDGET: u32 = 36; // bytes of live entries one segment may hold
export const H_SEG_ENTRIES: u32 = 40; // entries one segment may hold (index capacity)
export const H_BUCKETS: u32 = 44; // index buckets per segment (64 bytes each)
export const H_IO_BYTES: u32 = 48;
export const H_LOG_BYTES: u32 = 52;
export const H_MAX_KEY: u32 = 56;
export const H_MAX_VALUE: u32 = 60;
export const H_MAX_BYTES: u32 = 64; // the maxBytes given to init
export const H_MAX_ENTRIES: u32 = 68; // the entry limit in effect (init's, or the default)
export const H_SEG_TABLE: u32 = 72;
export const H_SLOT_TABLE: u32 = 76;
export const H_COUNTER_TABLE: u32 = 80;
export const H_IO_BASE: u32 = 84;
export const H_DATA_BASE: u32 = 88;
export const H_END: u32 = 92;
export const H_SEG_STRIDE: u32 = 96;
export const H_IO_STRIDE: u32 = 100;
export const H_SMALL_BYTES: u32 = 104; // s3fifo: bytes of the small queue's ring (0 otherwise)
export const H_GHOST_SLOTS: u32 = 108; // s3fifo: ghost filter slots per segment (0 otherwise)
export const H_TTL_SEEN: u32 = 112; // 0 until some entry had an expiry, then 1
export const H_FLAGS: u32 = 116; // init's flags
export const H_SEED: u32 = 120; // 4 x u32: the per-arena hash key
export const H_DEFAULT_TTL: u32 = 136; // f64 ms
export const H_EPOCH: u32 = 144; // f64 ms: init's `now`; expiry times are stored relative to it
export const H_ENTRY_LIMIT: u32 = 152; // the most one entry may cost (see docs/ABI.md, sizing)
export const HEADER_SIZE: u32 = 256;

// ---- the areas between tables are aligned to this many bytes ----
export const TABLE_ALIGN: u32 = 64;

// ---- thread slot table: SLOT_SIZE bytes per slot ----
export const SL_STATE: u32 = 0; // i32: 0 free, 1 live, 2 dead
export const SL_TAG: u32 = 4;
export const SL_FLAGS: u32 = 8;
export const SLOT_SIZE: u32 = 16;
export const SLOT_FREE: i32 = 0;
export const SLOT_LIVE: i32 = 1;
export const SLOT_DEAD: i32 = 2;

// ---- per-thread counters: COUNTER_SIZE bytes per (slot, segment), slot-major ----
export const C_HITS: u32 = 0; // u64
export const C_MISSES: u32 = 8; // u64
export const COUNTER_SIZE: u32 = 16;

// ---- the segment snapshot `stats` writes to io (STATS_SIZE bytes) ----
export const ST_ENTRIES: u32 = 0;
export const ST_BYTES_USED: u32 = 4;
export const ST_BUDGET: u32 = 8;
export const ST_REGION: u32 = 12;
export const ST_MAX_ENTRIES: u32 = 16;
export const ST_LOG_BYTES: u32 = 20; // bytes between the rings' tails and heads (live + dead)
export const ST_SMALL_ENTRIES: u32 = 24; // s3fifo: entries in the small queue
export const ST_SMALL_BYTES: u32 = 28; // s3fifo: live bytes in the small queue
export const ST_HITS: u32 = 32; // u64 from here on
export const ST_MISSES: u32 = 40;
export const ST_SETS: u32 = 48;
export const ST_DELETES: u32 = 56;
export const ST_EVICTIONS: u32 = 64;
export const ST_EXPIRATIONS: u32 = 72;
export const ST_REJECTED: u32 = 80;
export const ST_MOVES: u32 = 88; // entries moved inside the segment (second chances, promotions, cleaning)
export const ST_RECOVERIES: u32 = 96;
export const ST_INDEX_EVICTIONS: u32 = 104; // evictions forced by a full index neighbourhood
export const ST_GHOST_HITS: u32 = 112; // s3fifo: new keys admitted to main by the ghost filter
export const ST_SWEEP_PASSES: u32 = 120;
export const STATS_SIZE: u32 = 128;

// ---- entries ----
export const ENTRY_ALIGN: u32 = 4; // an entry costs align4(ENTRY_HEADER + key + value)
export const ENTRY_HEADER: u32 = 12; // clock and s3fifo
export const ENTRY_HEADER_LRU: u32 = 20; // lru adds two list links

// ---- eviction log: [u32 count][u32 bytes], then records ----
// record: [u32 reason][u32 klen][u32 vlen][key][value], padded to 4 bytes
export const LOG_HEADER: u32 = 8;
export const REC_HEADER: u32 = 12;
export const REASON_EVICT: u32 = 1;
export const REASON_EXPIRE: u32 = 2;
export const REASON_DELETE: u32 = 3;
export const REASON_REPLACE: u32 = 4;

// ---- set_many record: [u32 klen][u32 vlen][f64 ttl][i32 status][u32 0][key][value], 8-aligned ----
export const BATCH_RECORD_HEADER: u32 = 24;

// ---- get_ref: io[0] receives the value's offset ----
// ---- sweep: flags and the result it writes to io ----
export const SWEEP_RESTART: u32 = 1; // start at the oldest entry instead of the cursor
export const SW_REMOVED: u32 = 0; // u32: entries expired by this call
export const SW_EXAMINED: u32 = 4; // u32: blocks examined
export const SW_PASS_DONE: u32 = 8; // u32: 1 if the call reached the newest entry (a pass ended)

// ---- info: what it writes to io ----
export const INFO_VLEN: u32 = 0; // u32: value bytes
export const INFO_COST: u32 = 4; // u32: bytes the entry is charged
export const INFO_EXPIRES: u32 = 8; // f64: when it expires, in the host's ms (0 = never)

// ---- scan: iteration over one segment, a bounded number of entries per call ----
// The cursor lives at the start of io and survives between calls (the host keeps it there, or
// saves and restores these SCAN_RECORDS bytes); records follow at SCAN_RECORDS (8-aligned).
export const SCAN_STATE: u32 = 0; // u32: 0 start, 1 more to come, 2 this segment is done
export const SCAN_RING: u32 = 4; // u32: which queue the cursor is in (clock, s3fifo); lru: the scan's mark
export const SCAN_LSN: u32 = 8; // u64: position in that queue's history (clock, s3fifo; kept at SCAN_DONE); lru: the next entry
export const SCAN_KLEN: u32 = 16; // u32: lru: length of the last key returned
export const SCAN_KEY: u32 = 24; // lru: the last key returned (MAX_KEY bytes reserved)
export const SCAN_START: u32 = 0;
export const SCAN_MORE: u32 = 1;
export const SCAN_DONE: u32 = 2;
export const SCAN_VALUES: u32 = 1; // flag: records carry values
export const SCAN_NEWEST_FIRST: u32 = 2; // flag (lru only): most recently used first
export const SCAN_ONE_QUEUE: u32 = 4; // flag (clock, s3fifo): stop at the end of the queue the cursor is in
// record: [u32 klen][u32 vlen][f64 expires (host ms, 0 = never)][u32 0][u32 0][key][value],
// padded to 8: the layout of a set_many record, so records can be replayed (snapshots).
export const SCAN_RECORD_HEADER: u32 = 24;

// ---- core-private layout that tests and debuggers read (not part of the contract: it may change
// without a version bump). layout.ts takes these values from here.
export const DEBUG_SEG_SIZE: u32 = 256; // bytes of one segment header in the segment table
export const DEBUG_S_LOCK: u32 = 0; // a segment header's lock word (docs/threads.md)
export const DEBUG_S_SEQ: u32 = 4; // its sequence word (odd while a lock holder changes the segment)
export const DEBUG_S_CURSOR: u32 = 28; // its TTL sweep cursor
export const DEBUG_S_RING0: u32 = 64; // its first (or only) queue's ring header
export const DEBUG_R_START: u32 = 0; // a ring header's fields (u32 offsets in linear memory and sizes)
export const DEBUG_R_END: u32 = 4;
export const DEBUG_R_HEAD: u32 = 8;
export const DEBUG_R_TAIL: u32 = 12;
export const DEBUG_R_SPAN: u32 = 16;
export const DEBUG_E_VLEN: u32 = 0; // an entry's header: u32 value length
export const DEBUG_E_KLEN: u32 = 4; // u16 key length
export const DEBUG_E_FLAGS: u32 = 6; // u8 flags: bit 0 removed (dead); lru: bits 1-7 a scan cursor's mark
