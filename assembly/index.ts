// The arenacache core ABI (docs/ABI.md): the exported functions, nothing else. Every export that
// takes the caller's thread slot checks it; keys and values travel through that slot's I/O area.
// No export keeps state outside linear memory.

import {
  MAGIC, ABI_VERSION, H_MAGIC, H_ABI, H_STATE, H_SEGMENTS, H_SEG_BITS, H_THREADS, H_POLICY,
  H_ENTRY_HEADER, H_REGION, H_BUDGET, H_SEG_ENTRIES, H_BUCKETS, H_IO_BYTES, H_LOG_BYTES, H_MAX_KEY,
  H_MAX_VALUE, H_MAX_BYTES, H_MAX_ENTRIES, H_SEG_TABLE, H_SLOT_TABLE, H_COUNTER_TABLE, H_IO_BASE,
  H_DATA_BASE, H_END, H_SEG_STRIDE, H_IO_STRIDE, H_SMALL_BYTES, H_GHOST_SLOTS, H_TTL_SEEN, H_FLAGS,
  H_SEED, H_DEFAULT_TTL, H_EPOCH, H_ENTRY_LIMIT, HEADER_SIZE, SL_STATE, SLOT_SIZE, SLOT_LIVE, COUNTER_SIZE,
  C_HITS, C_MISSES, POLICY_LRU, POLICY_S3FIFO, POLICY_COUNT, INIT_LOG, INIT_PREFAULT,
  DEFAULT_BYTES_PER_ENTRY, MIN_SEGMENT_STORAGE, ENTRY_HEADER, ENTRY_HEADER_LRU, REC_HEADER,
  BATCH_RECORD_HEADER, SWEEP_RESTART, INFO_VLEN, INFO_COST, INFO_EXPIRES, OK, NOT_FOUND, E_KEY_TOO_LONG, E_BAD_ARG, E_LOG_FULL,
  E_NO_MEMORY, ST_ENTRIES, ST_BYTES_USED, ST_BUDGET, ST_REGION, ST_MAX_ENTRIES, ST_LOG_BYTES,
  ST_SMALL_ENTRIES, ST_SMALL_BYTES, ST_HITS, ST_MISSES, ST_SETS, ST_DELETES, ST_EVICTIONS,
  ST_EXPIRATIONS, ST_REJECTED, ST_MOVES, ST_RECOVERIES, ST_INDEX_EVICTIONS, ST_GHOST_HITS,
  ST_SWEEP_PASSES, STATS_SIZE, CLOCK_MAX_FREQ, S3_MAX_FREQ, S3_SMALL_PERCENT,
} from './abi';
import {
  S_CAP, S_INDEX, S_BUCKETS, S_GHOST, S_GHOST_MASK, S_RING0, S_RING1, S_SETS, S_DELETES,
  S_EVICTIONS, S_EXPIRATIONS, S_REJECTED, S_MOVES, S_RECOVERIES, S_INDEX_EVICTIONS, S_GHOST_HITS,
  S_SWEEP_PASSES, SEG_SIZE, R_START, R_END, R_HEAD, R_TAIL, R_SPAN, R_LIVE, R_COUNT, R_CAP, E_KLEN,
  headerPtr, hdr32, segPtr, slotPtr, ioPtr, logPtr, counterPtr, align64, bump64, scratchOf,
} from './layout';
import { segmentHash, segmentOf, indexHash } from './hash';
import { lockSegment, unlockSegment } from './lock';
import { claimSlot, freeSlot, releaseSlot } from './slots';
import { entryHeader, blockSize, ringOf, ringAt, ringLen } from './ring';
import { slotEntry } from './table';
import { relTime, expiryFor, expiryOf } from './entry';
import {
  policy, segSet, lookupLive, segRemove, copyValue, onHit, resetSegment, segCount, segUsed,
  lruBudget, lruBudgetOf,
} from './segment';
import { segSweep } from './sweep';
import { segCheck } from './check';
import { segScan } from './scan';
import { readOptimistic, READ_RETRY, READ_COPY, READ_HAS } from './read';

export function abi_version(): u32 {
  return ABI_VERSION;
}

/** Offset of the arena header in linear memory. */
export function header(): usize {
  return headerPtr();
}

// ---------------------------------------------------------------------------------------------
// Sizing: one set of rules, used by init and by arena_size (hosts size shared memories with it).

// @ts-ignore: decorator
@inline function segShare(maxBytes: u32, segments: u32): u64 {
  return <u64>(maxBytes / segments) & ~(<u64>63);
}

// @ts-ignore: decorator
@inline function segEntries(maxBytes: u32, segments: u32, maxEntries: u32): u64 {
  const total = maxEntries != 0 ? <u64>maxEntries : <u64>(maxBytes / DEFAULT_BYTES_PER_ENTRY);
  const per = (total + <u64>segments - 1) / <u64>segments;
  return per > 0 ? per : 1;
}

/** Buckets for `cap` entries at most 7/8 full (12 slots a bucket). */
// @ts-ignore: decorator
@inline function bucketsFor(cap: u64): u64 {
  return (cap * 2 + 20) / 21;
}

// @ts-ignore: decorator
@inline function ghostSlotsFor(cap: u64, pol: u32): u64 {
  if (pol != POLICY_S3FIFO) return 0;
  let g: u64 = 8;
  while (g < cap) g <<= 1;
  return g;
}

/** Bytes of one segment's entry storage, or a negative value when the share cannot hold it. */
// @ts-ignore: decorator
@inline function segStorage(share: u64, cap: u64, pol: u32): i64 {
  return <i64>share - <i64>(bucketsFor(cap) << 6) - <i64>align64(ghostSlotsFor(cap, pol) << 1);
}

// @ts-ignore: decorator
@inline function entryHeaderFor(pol: u32): u32 {
  return pol == POLICY_LRU ? ENTRY_HEADER_LRU : ENTRY_HEADER;
}

/** The most one entry may cost: the lru budget, or a queue that keeps two headers' worth free. */
// @ts-ignore: decorator
@inline function entryLimitFor(storage: u64, pol: u32): u64 {
  const hdr = <u64>entryHeaderFor(pol);
  if (pol == POLICY_LRU) return <u64>lruBudgetOf(<usize>storage);
  if (pol == POLICY_S3FIFO) return (storage - smallBytes(storage)) - 2 * hdr;
  return storage - 2 * hdr;
}

/** The largest value storable (with an empty key), capped by what one segment can hold. */
// @ts-ignore: decorator
@inline function effectiveMaxValue(maxValue: u32, storage: u64, pol: u32): u64 {
  const hdr = <u64>entryHeaderFor(pol);
  const cost = entryLimitFor(storage, pol);
  const most = cost > hdr ? cost - hdr : 0;
  return <u64>maxValue < most ? <u64>maxValue : most;
}

// @ts-ignore: decorator
@inline function smallBytes(storage: u64): u64 {
  return (storage * <u64>S3_SMALL_PERCENT / 100) & ~(<u64>63);
}

// @ts-ignore: decorator
@inline function ioBytesFor(maxKey: u32, maxValue: u64): u64 {
  // Room for the largest entry as a log record, and as a scan record behind the scan cursor.
  let io = 2 * <u64>maxKey + maxValue + 96;
  if (io < 65536) io = 65536;
  return (io + 15) & ~(<u64>15);
}

/** Validates init's arguments; OK or E_BAD_ARG. */
function checkArgs(maxBytes: u32, segments: u32, threads: u32, maxKey: u32, maxEntries: u32, pol: u32, flags: u32, defaultTtl: f64, now: f64): i32 {
  if (segments == 0 || segments > 1024 || (segments & (segments - 1)) != 0) return E_BAD_ARG;
  if (threads == 0 || threads > 1024) return E_BAD_ARG;
  if (maxKey == 0 || maxKey > 65535) return E_BAD_ARG;
  if (pol >= POLICY_COUNT || (flags & ~(INIT_LOG | INIT_PREFAULT)) != 0) return E_BAD_ARG;
  if (!(defaultTtl >= 0) || !isFinite(defaultTtl) || !isFinite(now)) return E_BAD_ARG;
  const share = segShare(maxBytes, segments);
  if (segStorage(share, segEntries(maxBytes, segments, maxEntries), pol) < <i64>MIN_SEGMENT_STORAGE) return E_BAD_ARG;
  return OK;
}

/** The per-slot area: I/O, eviction log, scratch for one key; 64-aligned so threads share no line. */
// @ts-ignore: decorator
@inline function ioStrideFor(io: u64, log: u64, maxKey: u32): u64 {
  return align64(io + log + ((<u64>maxKey + 15) & ~(<u64>15)));
}

/**
 * Where an arena with these arguments would end (the memory needed is ceil(END / 65536) pages),
 * or E_BAD_ARG. Touches nothing: a host sizes a shared memory's maximum with it before init.
 */
export function arena_size(
  maxBytes: u32, segments: u32, threads: u32, maxKey: u32, maxValue: u32, maxEntries: u32, pol: u32, flags: u32,
): f64 {
  if (checkArgs(maxBytes, segments, threads, maxKey, maxEntries, pol, flags, 0, 0) != OK) return <f64>E_BAD_ARG;
  return <f64>layoutEnd(maxBytes, segments, threads, maxKey, maxValue, maxEntries, pol, flags);
}

function layoutEnd(maxBytes: u32, segments: u32, threads: u32, maxKey: u32, maxValue: u32, maxEntries: u32, pol: u32, flags: u32): u64 {
  const share = segShare(maxBytes, segments);
  const storage = <u64>segStorage(share, segEntries(maxBytes, segments, maxEntries), pol);
  const io = ioBytesFor(maxKey, effectiveMaxValue(maxValue, storage, pol));
  const stride = ioStrideFor(io, (flags & INIT_LOG) != 0 ? io : 0, maxKey);
  const H = <u64>headerPtr();
  const slotTable = H + <u64>HEADER_SIZE;
  const segTable = align64(slotTable + <u64>threads * <u64>SLOT_SIZE);
  const counters = align64(segTable + <u64>segments * <u64>SEG_SIZE);
  const ioBase = align64(counters + <u64>threads * <u64>segments * <u64>COUNTER_SIZE);
  const dataBase = align64(ioBase + <u64>threads * stride);
  return dataBase + <u64>segments * share;
}

/**
 * Lays out a new arena in this memory and claims thread slot 0 for the caller (flags 0). Returns
 * the header offset (> 0), E_BAD_ARG (an argument, or the memory already holds an arena) or
 * E_NO_MEMORY. A failed init changes nothing, so it may be retried with other arguments.
 */
export function init(
  maxBytes: u32, segments: u32, threads: u32, maxKey: u32, maxValue: u32, maxEntries: u32, pol: u32,
  flags: u32, defaultTtl: f64, now: f64, seed0: u32, seed1: u32, seed2: u32, seed3: u32,
): i32 {
  const bad = checkArgs(maxBytes, segments, threads, maxKey, maxEntries, pol, flags, defaultTtl, now);
  if (bad != OK) return bad;
  const end = layoutEnd(maxBytes, segments, threads, maxKey, maxValue, maxEntries, pol, flags);
  if (end > 0xFFFF0000) return E_NO_MEMORY;
  const H = headerPtr();
  // Grow first (harmless if another initialiser wins below): the header itself may not exist yet.
  const pages = <i32>((end + 65535) >> 16);
  const have = memory.size();
  if (pages > have && memory.grow(pages - have) < 0) return E_NO_MEMORY;
  if (ASC_FEATURE_THREADS) {
    if (atomic.cmpxchg<u32>(H + <usize>H_STATE, 0, 1) != 0) return E_BAD_ARG;
  } else {
    if (load<u32>(H + <usize>H_STATE) != 0) return E_BAD_ARG;
    store<u32>(H + <usize>H_STATE, 1);
  }
  const share = segShare(maxBytes, segments);
  const cap = segEntries(maxBytes, segments, maxEntries);
  const buckets = bucketsFor(cap);
  const ghostSlots = ghostSlotsFor(cap, pol);
  const storage = <u64>segStorage(share, cap, pol);
  const small = pol == POLICY_S3FIFO ? smallBytes(storage) : 0;
  const mv = effectiveMaxValue(maxValue, storage, pol);
  const io = ioBytesFor(maxKey, mv);
  const log = (flags & INIT_LOG) != 0 ? io : 0;
  const stride = ioStrideFor(io, log, maxKey);
  const slotTable = <u64>H + <u64>HEADER_SIZE;
  const segTable = align64(slotTable + <u64>threads * <u64>SLOT_SIZE);
  const counters = align64(segTable + <u64>segments * <u64>SEG_SIZE);
  const ioBase = align64(counters + <u64>threads * <u64>segments * <u64>COUNTER_SIZE);
  const dataBase = align64(ioBase + <u64>threads * stride);
  const hdr = entryHeaderFor(pol);
  const budget = pol == POLICY_LRU ? <u64>lruBudgetOf(<usize>storage) : storage;

  put(H_ABI, ABI_VERSION);
  put(H_SEGMENTS, segments);
  put(H_SEG_BITS, ctz<u32>(segments));
  put(H_THREADS, threads);
  put(H_POLICY, pol);
  put(H_ENTRY_HEADER, hdr);
  put(H_REGION, storage);
  put(H_BUDGET, budget);
  put(H_SEG_ENTRIES, cap);
  put(H_BUCKETS, buckets);
  put(H_IO_BYTES, io);
  put(H_LOG_BYTES, log);
  put(H_MAX_KEY, maxKey);
  put(H_MAX_VALUE, mv);
  put(H_MAX_BYTES, maxBytes);
  put(H_MAX_ENTRIES, cap * <u64>segments);
  put(H_SEG_TABLE, segTable);
  put(H_SLOT_TABLE, slotTable);
  put(H_COUNTER_TABLE, counters);
  put(H_IO_BASE, ioBase);
  put(H_DATA_BASE, dataBase);
  put(H_END, end);
  put(H_SEG_STRIDE, share);
  put(H_IO_STRIDE, stride);
  put(H_SMALL_BYTES, small);
  put(H_GHOST_SLOTS, ghostSlots);
  put(H_TTL_SEEN, defaultTtl > 0 ? 1 : 0);
  put(H_FLAGS, flags);
  put(H_SEED, seed0);
  put(H_SEED + 4, seed1);
  put(H_SEED + 8, seed2);
  put(H_SEED + 12, seed3);
  store<f64>(H + <usize>H_DEFAULT_TTL, defaultTtl);
  store<f64>(H + <usize>H_EPOCH, now);
  put(H_ENTRY_LIMIT, entryLimitFor(storage, pol));
  // Fresh linear memory is zero, so index, locks and counters start cleared without touching
  // (and committing) every page of a large arena, unless the host asked for exactly that.
  if ((flags & INIT_PREFAULT) != 0) memory.fill(<usize>ioBase, 0, <usize>(end - ioBase));
  const capSmall: u64 = pol == POLICY_S3FIFO ? (cap * <u64>S3_SMALL_PERCENT + 99) / 100 : 0;
  for (let i: u32 = 0; i < segments; i++) {
    const seg = <usize>segTable + <usize>i * SEG_SIZE;
    const base = dataBase + <u64>i * share;
    store<u32>(seg + S_CAP, <u32>cap);
    store<u32>(seg + S_INDEX, <u32>base);
    store<u32>(seg + S_BUCKETS, <u32>buckets);
    const ghost = base + (buckets << 6);
    if (ghostSlots != 0) {
      store<u32>(seg + S_GHOST, <u32>ghost);
      store<u32>(seg + S_GHOST_MASK, <u32>(ghostSlots - 1));
    }
    const store0 = ghost + align64(ghostSlots << 1);
    // s3fifo: [small ring][main ring]; otherwise one ring over all the storage.
    initRing(seg + S_RING1, store0, small, capSmall);
    initRing(seg + S_RING0, store0 + small, storage - small, cap - capSmall > 0 ? cap - capSmall : 1);
  }
  store<u32>(<usize>slotTable + <usize>SL_STATE, SLOT_LIVE);
  store<u32>(H + <usize>H_MAGIC, MAGIC);
  if (ASC_FEATURE_THREADS) atomic.store<u32>(H + <usize>H_STATE, 2);
  else store<u32>(H + <usize>H_STATE, 2);
  return <i32>H;
}

// @ts-ignore: decorator
@inline function put(off: u32, v: u64): void {
  store<u32>(headerPtr() + <usize>off, <u32>v);
}

function initRing(r: usize, start: u64, len: u64, cap: u64): void {
  store<u32>(r + R_START, <u32>start);
  store<u32>(r + R_END, <u32>(start + len));
  store<u32>(r + R_HEAD, <u32>start);
  store<u32>(r + R_TAIL, <u32>start);
  store<u32>(r + R_CAP, len != 0 ? <u32>cap : 0);
}

/** True once an arena is laid out in this memory with this ABI version. */
export function ready(): bool {
  const H = headerPtr();
  if (<usize>memory.size() << 16 < H + <usize>HEADER_SIZE) return false;
  return load<u32>(H + <usize>H_MAGIC) == MAGIC && load<u32>(H + <usize>H_ABI) == ABI_VERSION &&
    (ASC_FEATURE_THREADS ? atomic.load<u32>(H + <usize>H_STATE) : load<u32>(H + <usize>H_STATE)) == 2;
}

/** Claims a free thread slot (for a thread attaching to a shared arena). */
export function attach(tag: u32, flags: u32): i32 {
  return claimSlot(tag, flags, ready());
}

/** The slot's thread is done with the arena (it holds no lock between calls). */
export function detach(slot: u32): i32 {
  return freeSlot(slot);
}

/** The thread attached to `slot` with `tag` died: recover what it held and free the slot. */
export function release_slot(slot: u32, tag: u32, by: u32): i32 {
  return releaseSlot(slot, tag, by);
}

// @ts-ignore: decorator
@inline function badSlot(slot: u32): bool {
  // One compare per call keeps a host's wrong slot from writing into another thread's I/O area.
  return slot >= hdr32(H_THREADS);
}

/** bit 0: may block; bits 1-2: eviction log mode; bit 3: log deletes and replaced values too. */
export function set_flags(slot: u32, flags: u32): void {
  if (badSlot(slot)) return;
  store<u32>(slotPtr(slot) + 8, flags);
}

export function io_ptr(slot: u32): usize {
  if (badSlot(slot)) return 0;
  return ioPtr(slot);
}

export function log_ptr(slot: u32): usize {
  if (badSlot(slot)) return 0;
  return logPtr(slot);
}

/** The segment hash (seeded FNV-1a) of the first `len` bytes of the slot's I/O area. */
export function hash(slot: u32, len: u32): u32 {
  if (badSlot(slot) || len > hdr32(H_IO_BYTES)) return 0;
  return segmentHash(ioPtr(slot), <usize>len);
}

// @ts-ignore: decorator
@inline function segIndexFor(kptr: usize, klen: u32): u32 {
  return segmentOf(segmentHash(kptr, <usize>klen), hdr32(H_SEG_BITS));
}

// @ts-ignore: decorator
@inline function countRead(slot: u32, segIndex: u32, hit: bool): void {
  bump64(counterPtr(slot, segIndex) + <usize>(hit ? C_HITS : C_MISSES));
}

/** Access bits a hit may raise them to, for lock-free readers (0: the policy needs the lock). */
// @ts-ignore: decorator
@inline function optimisticBump(): u32 {
  const p = policy();
  return p == POLICY_LRU ? 0 : p == POLICY_S3FIFO ? S3_MAX_FREQ : CLOCK_MAX_FREQ;
}

/**
 * Sets key (io[0, klen)) to value (io[klen, klen + vlen)). ttl: ms, 0 = never, < 0 = default.
 * Returns OK, E_KEY_TOO_LONG, E_TOO_LARGE (refused and counted) or E_LOG_FULL (drain, repeat).
 */
export function set(slot: u32, klen: u32, vlen: u32, ttl: f64, now: f64): i32 {
  if (badSlot(slot)) return E_BAD_ARG;
  if (klen > hdr32(H_MAX_KEY)) return E_KEY_TOO_LONG;
  const io = ioPtr(slot);
  const seg = segPtr(segIndexFor(io, klen));
  const h = indexHash(io, <usize>klen);
  lockSegment(seg, slot);
  const r = segSet(seg, slot, h, io, klen, io + <usize>klen, vlen, expiryFor(ttl, now), relTime(now));
  unlockSegment(seg);
  return r;
}

const OP_GET: i32 = 0;
const OP_PEEK: i32 = 1;
const OP_HAS: i32 = 2;
const OP_REMOVE: i32 = 3;
const OP_REF: i32 = 4;

/** Looks up io[0, klen); on a hit copies the value to io[0, len), counts and records the access. */
export function get(slot: u32, klen: u32, now: f64): i32 {
  return keyOp(slot, klen, now, OP_GET);
}

/**
 * As get, but leaves the value where it is when it can: writes its offset to io[0] (u32) and
 * returns its length. The bytes stay valid until the slot's next call. The shared build, and a
 * value that wraps around its ring's end, copy it to io + 8 instead (and io[0] says so).
 */
export function get_ref(slot: u32, klen: u32, now: f64): i32 {
  return keyOp(slot, klen, now, OP_REF);
}

/** As get, without recording an access and without counting a hit or miss. */
export function peek(slot: u32, klen: u32, now: f64): i32 {
  return keyOp(slot, klen, now, OP_PEEK);
}

/** 1 if io[0, klen) is present and not expired, else 0. Neither records an access nor counts. */
export function has(slot: u32, klen: u32, now: f64): i32 {
  return keyOp(slot, klen, now, OP_HAS);
}

/** Deletes io[0, klen): 1 if a live entry was deleted, 0 if none, E_LOG_FULL (drain, repeat). */
export function remove(slot: u32, klen: u32, now: f64): i32 {
  return keyOp(slot, klen, now, OP_REMOVE);
}

/** The single-key path; `op` is a constant at every call site, so each export inlines its own. */
// @ts-ignore: decorator
@inline function keyOp(slot: u32, klen: u32, now: f64, op: i32): i32 {
  if (badSlot(slot)) return E_BAD_ARG;
  if (klen > hdr32(H_MAX_KEY)) return E_KEY_TOO_LONG;
  const io = ioPtr(slot);
  const segIndex = segIndexFor(io, klen);
  const seg = segPtr(segIndex);
  const h = indexHash(io, <usize>klen);
  const rel = relTime(now);
  if (ASC_FEATURE_THREADS && op != OP_REMOVE && policy() != POLICY_LRU) {
    // The value lands on the key in io, and a retry needs the key: read it from scratch.
    const kptr = scratchOf(slot);
    memory.copy(kptr, io, <usize>klen);
    const out = op == OP_REF ? io + 8 : io;
    const r = readOptimistic(seg, h, kptr, klen, rel, op == OP_HAS ? READ_HAS : READ_COPY, out, op == OP_GET || op == OP_REF ? optimisticBump() : 0, kptr);
    if (r != READ_RETRY) {
      if (op == OP_GET || op == OP_REF) countRead(slot, segIndex, r >= 0);
      if (op == OP_HAS) return r == 1 ? 1 : 0;
      if (op == OP_REF && r >= 0) store<u32>(io, <u32>(io + 8));
      return r;
    }
    memory.copy(io, kptr, <usize>klen);
  }
  lockSegment(seg, slot);
  if (op == OP_REMOVE) {
    const removed = segRemove(seg, slot, h, io, klen, rel);
    unlockSegment(seg);
    return removed;
  }
  const s = lookupLive(seg, slot, h, io, klen, rel);
  let r: i32;
  if (s == 0) {
    if (op == OP_GET || op == OP_REF) countRead(slot, segIndex, false);
    r = op == OP_HAS ? 0 : NOT_FOUND;
  } else if (op == OP_HAS) {
    r = 1;
  } else {
    const e = slotEntry(s);
    if (op != OP_PEEK) {
      onHit(seg, s, e);
      countRead(slot, segIndex, true);
    }
    if (op == OP_REF) {
      const vp = e + entryHeader() + <usize>load<u16>(e + E_KLEN);
      const rg = ringOf(seg, e);
      const vlen = load<u32>(e);
      if (!ASC_FEATURE_THREADS && vp + <usize>vlen <= <usize>load<u32>(rg + R_END)) {
        store<u32>(io, <u32>vp);
        r = <i32>vlen;
      } else {
        r = <i32>copyValue(seg, e, io + 8);
        store<u32>(io, <u32>(io + 8));
      }
    } else {
      r = <i32>copyValue(seg, e, io);
    }
  }
  unlockSegment(seg);
  return r;
}

/** Drops every entry, one segment at a time; counters are kept. */
export function clear(slot: u32): void {
  if (badSlot(slot)) return;
  const n = hdr32(H_SEGMENTS);
  for (let i: u32 = 0; i < n; i++) {
    const seg = segPtr(i);
    lockSegment(seg, slot);
    resetSegment(seg, false);
    unlockSegment(seg);
  }
}

/**
 * Incremental TTL sweep of one segment: examines at most `maxSteps` blocks under that segment's
 * lock, from its cursor (or from the oldest block with SWEEP_RESTART in `flags`), never past the
 * end of a pass. Returns the number expired; writes [removed, examined, passDone] to io.
 */
export function sweep(slot: u32, segIndex: u32, maxSteps: u32, now: f64, flags: u32): i32 {
  if (badSlot(slot)) return E_BAD_ARG;
  if (segIndex >= hdr32(H_SEGMENTS) || (flags & ~SWEEP_RESTART) != 0) return E_BAD_ARG;
  const seg = segPtr(segIndex);
  lockSegment(seg, slot);
  const r = segSweep(seg, slot, maxSteps, relTime(now), (flags & SWEEP_RESTART) != 0, ioPtr(slot));
  unlockSegment(seg);
  return r;
}

/**
 * Batch get. Input at io: n u32 key lengths; the keys back to back at io + keysOff. Output at
 * io + outOff: n i32 results (value length or NOT_FOUND), then the values back to back, starting
 * with key `start`. Returns the index one past the last key processed (< n when the output area
 * is full), or E_BAD_ARG when the layout does not fit the I/O area.
 */
export function get_many(slot: u32, n: u32, start: u32, keysOff: u32, outOff: u32, now: f64): i32 {
  if (badSlot(slot)) return E_BAD_ARG;
  const ioBytes = <u64>hdr32(H_IO_BYTES);
  if (start > n || <u64>n * 4 > <u64>keysOff || (outOff & 3) != 0 || <u64>outOff + <u64>n * 4 > ioBytes) return E_BAD_ARG;
  const io = ioPtr(slot);
  const limit = io + <usize>ioBytes;
  const maxKey = hdr32(H_MAX_KEY);
  let sum: u64 = 0;
  for (let i: u32 = 0; i < n; i++) sum += <u64>load<u32>(io + (<usize>i << 2));
  if (<u64>keysOff + sum > <u64>outOff) return E_BAD_ARG;
  let kptr = io + <usize>keysOff;
  for (let i: u32 = 0; i < start; i++) kptr += <usize>load<u32>(io + (<usize>i << 2));
  const table = io + <usize>outOff;
  let out = table + (<usize>n << 2);
  const rel = relTime(now);
  const bits = hdr32(H_SEG_BITS);
  for (let i = start; i < n; i++) {
    const klen = load<u32>(io + (<usize>i << 2));
    if (klen > maxKey) {
      store<i32>(table + (<usize>i << 2), E_KEY_TOO_LONG);
      kptr += <usize>klen;
      continue;
    }
    const segIndex = segmentOf(segmentHash(kptr, <usize>klen), bits);
    const seg = segPtr(segIndex);
    const h = indexHash(kptr, <usize>klen);
    if (ASC_FEATURE_THREADS && policy() != POLICY_LRU) {
      // Optimistic: copy into a value's place only if the longest value fits there.
      if (out + <usize>hdr32(H_MAX_VALUE) <= limit) {
        const r = readOptimistic(seg, h, kptr, klen, rel, READ_COPY, out, optimisticBump(), scratchOf(slot));
        if (r != READ_RETRY) {
          countRead(slot, segIndex, r >= 0);
          store<i32>(table + (<usize>i << 2), r);
          if (r > 0) out += <usize>r;
          kptr += <usize>klen;
          continue;
        }
      }
    }
    lockSegment(seg, slot);
    const s = lookupLive(seg, slot, h, kptr, klen, rel);
    if (s == 0) {
      countRead(slot, segIndex, false);
      unlockSegment(seg);
      store<i32>(table + (<usize>i << 2), NOT_FOUND);
    } else {
      const e = slotEntry(s);
      const vlen = <usize>load<u32>(e);
      if (out + vlen > limit) {
        unlockSegment(seg);
        return <i32>i;
      }
      onHit(seg, s, e);
      countRead(slot, segIndex, true);
      copyValue(seg, e, out);
      unlockSegment(seg);
      store<i32>(table + (<usize>i << 2), <i32>vlen);
      out += vlen;
    }
    kptr += <usize>klen;
  }
  return <i32>n;
}

/**
 * Batch set. Input at io: n records, each [u32 klen][u32 vlen][f64 ttl][i32 status][u32 0][key]
 * [value], padded to 8 bytes. Each record's status is written in place. Returns the index one
 * past the last record processed (< n only when the eviction log filled: drain it and call again
 * with that start), or E_BAD_ARG when the records do not fit the I/O area.
 */
export function set_many(slot: u32, n: u32, start: u32, now: f64): i32 {
  if (badSlot(slot)) return E_BAD_ARG;
  const io = ioPtr(slot);
  const ioBytes = <u64>hdr32(H_IO_BYTES);
  // Walk the layout once, in 64 bits, before reading any key: a record past the area is refused.
  let off: u64 = 0;
  for (let i: u32 = 0; i < n; i++) {
    if (off + <u64>BATCH_RECORD_HEADER > ioBytes) return E_BAD_ARG;
    const rec = io + <usize>off;
    off += (<u64>BATCH_RECORD_HEADER + <u64>load<u32>(rec) + <u64>load<u32>(rec + 4) + 7) & ~(<u64>7);
    if (off > ioBytes + 7) return E_BAD_ARG;
  }
  if (start > n) return E_BAD_ARG;
  const maxKey = hdr32(H_MAX_KEY);
  const bits = hdr32(H_SEG_BITS);
  const rel = relTime(now);
  let r = io;
  for (let i: u32 = 0; i < n; i++) {
    const klen = load<u32>(r);
    const vlen = load<u32>(r + 4);
    if (i >= start) {
      let status: i32;
      if (klen > maxKey) {
        status = E_KEY_TOO_LONG;
      } else {
        const kptr = r + <usize>BATCH_RECORD_HEADER;
        const seg = segPtr(segmentOf(segmentHash(kptr, <usize>klen), bits));
        const h = indexHash(kptr, <usize>klen);
        lockSegment(seg, slot);
        status = segSet(seg, slot, h, kptr, klen, kptr + <usize>klen, vlen, expiryFor(load<f64>(r + 8), now), rel);
        unlockSegment(seg);
        if (status == E_LOG_FULL) return <i32>i;
      }
      store<i32>(r + 16, status);
    }
    r += (<usize>BATCH_RECORD_HEADER + <usize>klen + <usize>vlen + 7) & ~(<usize>7);
  }
  return <i32>n;
}

/** Writes segment `segIndex`'s public snapshot (STATS_SIZE bytes, abi.ts ST_*) to the slot's io. */
export function stats(slot: u32, segIndex: u32): i32 {
  if (badSlot(slot)) return E_BAD_ARG;
  if (segIndex >= hdr32(H_SEGMENTS)) return E_BAD_ARG;
  const seg = segPtr(segIndex);
  const o = ioPtr(slot);
  lockSegment(seg, slot);
  const r0 = seg + S_RING0;
  const r1 = seg + S_RING1;
  store<u32>(o + <usize>ST_ENTRIES, segCount(seg));
  store<u32>(o + <usize>ST_BYTES_USED, segUsed(seg));
  store<u32>(o + <usize>ST_BUDGET, policy() == POLICY_LRU ? <u32>lruBudget(seg) : <u32>(ringLen(r0) + ringLen(r1)));
  store<u32>(o + <usize>ST_REGION, <u32>(ringLen(r0) + ringLen(r1)));
  store<u32>(o + <usize>ST_MAX_ENTRIES, load<u32>(seg + S_CAP));
  store<u32>(o + <usize>ST_LOG_BYTES, load<u32>(r0 + R_SPAN) + load<u32>(r1 + R_SPAN));
  store<u32>(o + <usize>ST_SMALL_ENTRIES, load<u32>(r1 + R_COUNT));
  store<u32>(o + <usize>ST_SMALL_BYTES, load<u32>(r1 + R_LIVE));
  let hits: u64 = 0;
  let misses: u64 = 0;
  const threads = hdr32(H_THREADS);
  for (let t: u32 = 0; t < threads; t++) {
    const c = counterPtr(t, segIndex);
    hits += load<u64>(c + <usize>C_HITS);
    misses += load<u64>(c + <usize>C_MISSES);
  }
  store<u64>(o + <usize>ST_HITS, hits);
  store<u64>(o + <usize>ST_MISSES, misses);
  store<u64>(o + <usize>ST_SETS, load<u64>(seg + S_SETS));
  store<u64>(o + <usize>ST_DELETES, load<u64>(seg + S_DELETES));
  store<u64>(o + <usize>ST_EVICTIONS, load<u64>(seg + S_EVICTIONS));
  store<u64>(o + <usize>ST_EXPIRATIONS, load<u64>(seg + S_EXPIRATIONS));
  store<u64>(o + <usize>ST_REJECTED, load<u64>(seg + S_REJECTED));
  store<u64>(o + <usize>ST_MOVES, load<u64>(seg + S_MOVES));
  store<u64>(o + <usize>ST_RECOVERIES, load<u64>(seg + S_RECOVERIES));
  store<u64>(o + <usize>ST_INDEX_EVICTIONS, load<u64>(seg + S_INDEX_EVICTIONS));
  store<u64>(o + <usize>ST_GHOST_HITS, load<u64>(seg + S_GHOST_HITS));
  store<u64>(o + <usize>ST_SWEEP_PASSES, load<u64>(seg + S_SWEEP_PASSES));
  unlockSegment(seg);
  return <i32>STATS_SIZE;
}

/** Entries in the whole arena (a racy sum under concurrent writers; exact when quiescent). */
export function count(): u32 {
  const n = hdr32(H_SEGMENTS);
  let total: u32 = 0;
  for (let i: u32 = 0; i < n; i++) total += segCount(segPtr(i));
  return total;
}

/** Bytes charged to live entries in the whole arena (racy under concurrent writers). */
export function used(): f64 {
  const n = hdr32(H_SEGMENTS);
  let total: u64 = 0;
  for (let i: u32 = 0; i < n; i++) total += <u64>segUsed(segPtr(i));
  return <f64>total;
}

/** Walks segment `segIndex` and checks every invariant; 0 if sound, else a negative code. */
export function check(slot: u32, segIndex: u32): i32 {
  if (badSlot(slot)) return E_BAD_ARG;
  if (segIndex >= hdr32(H_SEGMENTS)) return E_BAD_ARG;
  const seg = segPtr(segIndex);
  lockSegment(seg, slot);
  const r = segCheck(seg, scratchOf(slot));
  unlockSegment(seg);
  return r;
}

/**
 * What io[0, klen) is: writes [u32 value bytes][u32 cost][f64 expires (host ms, 0 = never)] to
 * io and returns 1, or 0 if absent. Neither records an access nor counts (an expired entry it
 * finds is removed, as by peek).
 */
export function info(slot: u32, klen: u32, now: f64): i32 {
  if (badSlot(slot)) return E_BAD_ARG;
  if (klen > hdr32(H_MAX_KEY)) return E_KEY_TOO_LONG;
  const io = ioPtr(slot);
  const seg = segPtr(segIndexFor(io, klen));
  const h = indexHash(io, <usize>klen);
  lockSegment(seg, slot);
  const s = lookupLive(seg, slot, h, io, klen, relTime(now));
  if (s != 0) {
    const e = slotEntry(s);
    const x = expiryOf(e);
    store<u32>(io + <usize>INFO_VLEN, load<u32>(e));
    store<u32>(io + <usize>INFO_COST, <u32>blockSize(e));
    store<f64>(io + <usize>INFO_EXPIRES, x == 0 ? 0 : load<f64>(headerPtr() + <usize>H_EPOCH) + <f64>x);
  }
  unlockSegment(seg);
  return s != 0 ? 1 : 0;
}

/**
 * Iterates segment `segIndex`: up to `max` live entries, in the order its policy would evict
 * them, as records after the scan cursor at the start of io (abi.ts SCAN_*). Returns how many;
 * the cursor's state says whether more follow. Holds the segment's lock for this call only.
 */
export function scan(slot: u32, segIndex: u32, max: u32, flags: u32, now: f64): i32 {
  if (badSlot(slot)) return E_BAD_ARG;
  if (segIndex >= hdr32(H_SEGMENTS)) return E_BAD_ARG;
  const seg = segPtr(segIndex);
  const io = ioPtr(slot);
  lockSegment(seg, slot);
  const r = segScan(seg, io, io + <usize>hdr32(H_IO_BYTES), max, flags, relTime(now));
  unlockSegment(seg);
  return r;
}
