// Memory layout of an arena. Every piece of state lives in linear memory at offsets derived from
// the header, so any number of instances (in any number of threads) over one memory see one cache.
// docs/ABI.md documents these offsets; change them only together with ABI_VERSION.

export const MAGIC: u32 = 0x43414341; // the bytes "ACAC" (ArenaCAChe) in little-endian order
export const ABI_VERSION: u32 = 1;

// ---- header (HEADER_SIZE bytes at headerPtr()) ----
export const H_MAGIC: usize = 0;
export const H_ABI: usize = 4;
export const H_STATE: usize = 8; // 0 = empty, 1 = initialising, 2 = ready
export const H_SEGMENTS: usize = 12;
export const H_SEG_BITS: usize = 16;
export const H_THREADS: usize = 20;
export const H_REGION: usize = 24; // bytes per segment region (= its budget)
export const H_BUCKETS: usize = 28; // hash buckets per segment
export const H_IO_BYTES: usize = 32; // bytes of one thread's I/O area
export const H_LOG_BYTES: usize = 36; // bytes of one thread's eviction log (0 = none)
export const H_MAX_KEY: usize = 40;
export const H_MAX_VALUE: usize = 44;
export const H_MAX_BYTES: usize = 48; // the maxBytes the arena was created with
export const H_SEG_TABLE: usize = 52;
export const H_SLOT_TABLE: usize = 56;
export const H_IO_BASE: usize = 60;
export const H_DATA_BASE: usize = 64;
export const H_END: usize = 68; // first byte after the arena
export const H_SEG_STRIDE: usize = 72; // index + region bytes of one segment
export const H_IO_STRIDE: usize = 76; // io + log bytes of one thread
export const H_DEFAULT_TTL: usize = 80; // f64 ms
export const H_TTL_SEEN: usize = 88; // set to 1 once any entry had an expiry (hosts may skip the clock until then)
export const HEADER_SIZE: usize = 128;

// ---- thread slot table (SLOT_SIZE bytes per slot) ----
export const SL_STATE: usize = 0; // 0 free, 1 live, 2 dead (its thread died; locks it held are recovered)
export const SL_TAG: usize = 4; // host-chosen tag (e.g. a worker's threadId)
export const SL_FLAGS: usize = 8; // bit 0: may block in atomic.wait; bits 1-2: eviction log mode
export const SLOT_SIZE: usize = 16;
export const SLOT_FREE: i32 = 0;
export const SLOT_LIVE: i32 = 1;
export const SLOT_DEAD: i32 = 2;
export const FLAG_CAN_WAIT: u32 = 1;
export const LOG_MODE_SHIFT: u32 = 1; // 0 off, 1 keys, 2 keys and values
export const LOG_MODE_MASK: u32 = 3;

// ---- segment header (SEG_SIZE bytes each, in the segment table) ----
export const S_LOCK: usize = 0; // 0 free, else (owner slot + 1) << 1 | waiters bit
export const S_HEAD: usize = 4; // most recently used entry
export const S_TAIL: usize = 8; // least recently used entry
export const S_COUNT: usize = 12;
export const S_USED: usize = 16; // bytes charged to live entries
export const S_BUDGET: usize = 20;
export const S_START: usize = 24; // region [start, end)
export const S_END: usize = 28;
export const S_TOP: usize = 32; // bump pointer: [top, end) was never allocated since the last reset/compaction
export const S_BUCKETS: usize = 36;
export const S_MASK: usize = 40;
export const S_CURSOR: usize = 44; // TTL sweep position (an entry, walking tail → head), 0 = start at tail
export const S_FREE_BYTES: usize = 48;
export const S_FREE_COUNT: usize = 52;
export const S_BITMAP: usize = 56; // 5 words: which free-list classes are non-empty
// counters, u64
export const S_HITS: usize = 128;
export const S_MISSES: usize = 136;
export const S_SETS: usize = 144;
export const S_DELETES: usize = 152;
export const S_EVICTIONS: usize = 160;
export const S_EXPIRATIONS: usize = 168;
export const S_REJECTED: usize = 176;
export const S_COMPACTIONS: usize = 184;
export const S_RECOVERIES: usize = 192;
export const SEG_STATS_SIZE: usize = 200; // bytes copied out by stats()
export const S_FREE_LISTS: usize = 256; // NUM_CLASSES u32 list heads
export const NUM_CLASSES: u32 = 152;
export const BITMAP_WORDS: u32 = 5;
export const SEG_SIZE: usize = 896;

// ---- entry (a live block) ----
// word 0 holds the LRU "prev" link (toward the head) in its high bits and block flags in its low 4
// bits: entries are 16-byte aligned, so an offset's low 4 bits are always zero.
export const E_PREV: usize = 0;
export const E_NEXT: usize = 4; // toward the tail (older)
export const E_HNEXT: usize = 8; // next entry in the same hash bucket
export const E_HASH: usize = 12; // FNV-1a of the key
export const E_VLEN: usize = 16;
export const E_KLEN: usize = 20;
export const E_EXPIRES: usize = 24; // f64 ms, 0 = never
export const ENTRY_HEADER: usize = 32;

// ---- free block ----
export const F_SIZE: usize = 0; // size | FREE flag
export const F_NEXT: usize = 4;
export const F_PREV: usize = 8; // footer: the size again, in the last 4 bytes

export const BLOCK_FREE: u32 = 1;
export const BLOCK_PREV_FREE: u32 = 2;
export const FLAG_BITS: u32 = 15;
export const ALIGN: usize = 16;
export const MIN_BLOCK: usize = 16;

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

// ---- eviction log: [u32 count][u32 bytes used], then records [u32 reason][u32 klen][u32 vlen][key][value],
// each padded to 4 bytes. In keys-only mode vlen is 0.
export const LOG_HEADER: usize = 8; // [u32 count][u32 bytes used]
export const REC_HEADER: usize = 12;
export const REASON_EVICT: u32 = 1;
export const REASON_EXPIRE: u32 = 2;

/** The header lives just above the module's static data; identical in every instance. */
// @ts-ignore: decorator
@inline export function headerPtr(): usize {
  return (__heap_base + 63) & ~(<usize>63);
}

// @ts-ignore: decorator
@inline export function hdr32(off: usize): u32 {
  return load<u32>(headerPtr() + off);
}

// @ts-ignore: decorator
@inline export function segPtr(index: u32): usize {
  return <usize>hdr32(H_SEG_TABLE) + <usize>index * SEG_SIZE;
}

// @ts-ignore: decorator
@inline export function slotPtr(slot: u32): usize {
  return <usize>hdr32(H_SLOT_TABLE) + <usize>slot * SLOT_SIZE;
}

// @ts-ignore: decorator
@inline export function ioPtr(slot: u32): usize {
  return <usize>hdr32(H_IO_BASE) + <usize>slot * <usize>hdr32(H_IO_STRIDE);
}

// @ts-ignore: decorator
@inline export function logPtr(slot: u32): usize {
  return ioPtr(slot) + <usize>hdr32(H_IO_BYTES);
}

// @ts-ignore: decorator
@inline export function align16(n: usize): usize {
  return (n + 15) & ~(<usize>15);
}

// @ts-ignore: decorator
@inline export function entrySize(klen: usize, vlen: usize): usize {
  return align16(ENTRY_HEADER + klen + vlen);
}

// @ts-ignore: decorator
@inline export function bump64(ptr: usize): void {
  store<u64>(ptr, load<u64>(ptr) + 1);
}
