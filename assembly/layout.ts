// Where things live in an arena, and the core-private layouts (segment header, rings, entries).
// Public offsets are in abi.ts. Every piece of state lives in linear memory at offsets derived
// from the header, so any number of instances (in any number of threads) over one memory see one
// cache.
//
//   0 ........... H              the module's static area
//   H ........... +256           header (abi.ts H_*)
//   SLOT_TABLE .. +16*threads    thread slots
//   SEG_TABLE ... +256*segments  segment headers (below)
//   COUNTER_TABLE +16*threads*segments   per-(thread, segment) hit/miss counters
//   IO_BASE ..... +IO_STRIDE*threads     per thread: I/O area, then eviction log
//   DATA_BASE ... END            per segment (SEG_STRIDE bytes):
//                                  [index: BUCKETS x 64 B][ghost: u16 x GHOST_SLOTS][ring storage]
// Every table starts at a multiple of 64 bytes (TABLE_ALIGN).

import { H_THREADS, H_SEG_TABLE, H_SLOT_TABLE, H_COUNTER_TABLE, H_IO_BASE, H_IO_STRIDE, H_IO_BYTES, H_LOG_BYTES,
  H_SEGMENTS, SLOT_SIZE, COUNTER_SIZE, DEBUG_SEG_SIZE, DEBUG_S_LOCK, DEBUG_S_SEQ, DEBUG_S_CURSOR, DEBUG_S_RING0,
  DEBUG_R_START, DEBUG_R_END, DEBUG_R_HEAD, DEBUG_R_TAIL, DEBUG_R_SPAN, DEBUG_E_VLEN, DEBUG_E_KLEN, DEBUG_E_FLAGS } from './abi';

// ---- segment header (SEG_SIZE bytes each) ----
export const S_LOCK: usize = DEBUG_S_LOCK; // 0 free, else (owner slot + 1) << 1 | waiters bit
export const S_SEQ: usize = DEBUG_S_SEQ; // odd while a writer changes the segment (optimistic readers retry)
export const S_CAP: usize = 8; // entries the segment may hold
export const S_INDEX: usize = 12; // offset of the bucket array
export const S_BUCKETS: usize = 16; // number of buckets
export const S_GHOST: usize = 20; // offset of the ghost filter (s3fifo)
export const S_GHOST_MASK: usize = 24; // ghost slots - 1
export const S_CURSOR: usize = DEBUG_S_CURSOR; // TTL sweep position: a block start, or 0 = the first ring's tail
export const S_LRU_HEAD: usize = 32; // most recently used entry (lru)
export const S_LRU_TAIL: usize = 36; // least recently used entry (lru)
export const S_MODS: usize = 40; // bumped by every change that moves or removes an entry
export const S_SCAN_GEN: usize = 44; // lru: the generation of the last scan started (1..SCAN_MARKS)
// rings: RING_SIZE bytes each; ring 0 is the only ring (lru, clock) or s3fifo's main queue,
// ring 1 is s3fifo's small queue.
export const S_RING0: usize = DEBUG_S_RING0;
export const S_RING1: usize = 112;
// counters, u64 (hits and misses live in the per-thread counter table)
export const S_SETS: usize = 160;
export const S_DELETES: usize = 168;
export const S_EVICTIONS: usize = 176;
export const S_EXPIRATIONS: usize = 184;
export const S_REJECTED: usize = 192;
export const S_MOVES: usize = 200;
export const S_RECOVERIES: usize = 208;
export const S_INDEX_EVICTIONS: usize = 216;
export const S_GHOST_HITS: usize = 224;
export const S_SWEEP_PASSES: usize = 232;
export const SEG_SIZE: usize = DEBUG_SEG_SIZE;

// ---- ring (a circular log of blocks inside the segment's storage) ----
export const R_START: usize = DEBUG_R_START;
export const R_END: usize = DEBUG_R_END;
export const R_HEAD: usize = DEBUG_R_HEAD; // where the next block is appended
export const R_TAIL: usize = DEBUG_R_TAIL; // the oldest block
export const R_SPAN: usize = DEBUG_R_SPAN; // bytes from tail to head, dead blocks and skipped ends included
export const R_LIVE: usize = 20; // bytes of live entries
export const R_COUNT: usize = 24; // live entries
export const R_CAP: usize = 28; // entries this ring may hold
// u64: bytes the tail has passed since the arena began. Never decreases, so a position in the
// ring's history (tail lsn + span = head lsn) tells whether a block is still there: an
// iteration cursor. A position p is START + (lsn mod length).
export const R_TAIL_LSN: usize = 32;
export const RING_SIZE: usize = 48;

// ---- entry (a block in a ring) ----
// Blocks are 4-aligned and never straddle the ring's end with their header; the key and value
// may wrap around to the ring's start. A position closer than one header to the ring's end is
// skipped (the next block starts at the ring's start).
export const E_VLEN: usize = DEBUG_E_VLEN; // u32
export const E_KLEN: usize = DEBUG_E_KLEN; // u16
export const E_FLAGS: usize = DEBUG_E_FLAGS; // u8: bit 0 dead (removed, space not yet reclaimed);
//   lru, live: bits 1-7 a scan's mark (the entry is that scan's cursor and has not moved since)
export const E_EXP_HI: usize = 7; // u8: bits 32-39 of the expiry
export const E_EXP_LO: usize = 8; // u32: bits 0-31 of the expiry (ms after EPOCH; 0 = never)
export const E_PREV: usize = 12; // lru: toward the most recent
export const E_NEXT: usize = 16; // lru: toward the least recent
export const FL_DEAD: u32 = 1;
export const FL_MARK_SHIFT: u32 = 1;
/** Distinct scan marks (generations 1..SCAN_MARKS; 0 = unmarked). */
export const SCAN_MARKS: u32 = 127;

// ---- index bucket (BUCKET_SIZE bytes): 12 one-byte tags, then 12 slots ----
// A slot word is an entry offset (4-aligned) whose low 2 bits hold the policy's access bits.
export const BUCKET_SIZE: usize = 64;
export const BUCKET_SLOTS: u32 = 12;
export const B_SLOTS: usize = 16; // first slot word
export const SLOT_BITS: u32 = 3;

// The header lives just above the module's static data; identical in every instance.
// @ts-ignore: decorator
@inline export function headerPtr(): usize {
  return (__heap_base + 63) & ~(<usize>63);
}

// @ts-ignore: decorator
@inline export function hdr32(off: u32): u32 {
  return load<u32>(headerPtr() + <usize>off);
}

// @ts-ignore: decorator
@inline export function segPtr(index: u32): usize {
  return <usize>hdr32(H_SEG_TABLE) + <usize>index * SEG_SIZE;
}

// @ts-ignore: decorator
@inline export function slotPtr(slot: u32): usize {
  return <usize>hdr32(H_SLOT_TABLE) + <usize>slot * <usize>SLOT_SIZE;
}

// @ts-ignore: decorator
@inline export function ioPtr(slot: u32): usize {
  return <usize>hdr32(H_IO_BASE) + <usize>slot * <usize>hdr32(H_IO_STRIDE);
}

// @ts-ignore: decorator
@inline export function logPtr(slot: u32): usize {
  return ioPtr(slot) + <usize>hdr32(H_IO_BYTES);
}

/** Whether `slot` is not a slot of this arena: one compare per call keeps a host's wrong slot from writing into another thread's I/O area. */
// @ts-ignore: decorator
@inline export function badSlot(slot: u32): bool {
  return slot >= hdr32(H_THREADS);
}

/** Per-slot scratch space (one key long), after the slot's I/O area and log. */
// @ts-ignore: decorator
@inline export function scratchOf(slot: u32): usize {
  return ioPtr(slot) + <usize>hdr32(H_IO_BYTES) + <usize>hdr32(H_LOG_BYTES);
}

/**
 * A full memory barrier: a read-modify-write that adds 0 to a word only this thread touches.
 * (atomic.fence would say it directly, but the toolchain cannot emit it; V8 compiles an atomic
 * RMW to a locked instruction on x86 and an acquire/release pair on ARM, which orders the plain
 * accesses around it both ways. A private word keeps the barrier free of cache-line traffic.)
 */
// @ts-ignore: decorator
@inline export function fenceAt(privateWord: usize): void {
  atomic.add<u32>(privateWord, 0);
}

/** The hit/miss counters of (slot, segment): each thread writes only its own cache lines. */
// @ts-ignore: decorator
@inline export function counterPtr(slot: u32, segIndex: u32): usize {
  return <usize>hdr32(H_COUNTER_TABLE) + (<usize>slot * <usize>hdr32(H_SEGMENTS) + <usize>segIndex) * <usize>COUNTER_SIZE;
}

// @ts-ignore: decorator
@inline export function segIndexOf(seg: usize): u32 {
  return <u32>((seg - <usize>hdr32(H_SEG_TABLE)) / SEG_SIZE);
}

// @ts-ignore: decorator
@inline export function align4(n: usize): usize {
  return (n + 3) & ~(<usize>3);
}

// @ts-ignore: decorator
@inline export function align64(n: u64): u64 {
  return (n + 63) & ~(<u64>63);
}

// @ts-ignore: decorator
@inline export function bump64(ptr: usize): void {
  store<u64>(ptr, load<u64>(ptr) + 1);
}
