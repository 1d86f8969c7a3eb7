// The arenacache core ABI (see docs/ABI.md). Every export takes the caller's thread slot; keys
// and values travel through that slot's I/O area. No export keeps state outside linear memory.

import {
  MAGIC, ABI_VERSION, H_MAGIC, H_ABI, H_STATE, H_SEGMENTS, H_SEG_BITS, H_THREADS, H_REGION,
  H_BUCKETS, H_IO_BYTES, H_LOG_BYTES, H_MAX_KEY, H_MAX_VALUE, H_MAX_BYTES, H_SEG_TABLE,
  H_SLOT_TABLE, H_IO_BASE, H_DATA_BASE, H_END, H_SEG_STRIDE, H_IO_STRIDE, H_DEFAULT_TTL, H_TTL_SEEN,
  HEADER_SIZE, SL_STATE, SL_TAG, SL_FLAGS, SLOT_SIZE, SLOT_FREE, SLOT_LIVE, SLOT_DEAD,
  S_BUDGET, S_START, S_END, S_TOP, S_BUCKETS, S_MASK, S_COUNT, S_USED, S_HITS, S_MISSES,
  S_DELETES, S_EXPIRATIONS, SEG_SIZE, SEG_STATS_SIZE, E_VLEN, ENTRY_HEADER,
  OK, NOT_FOUND, E_KEY_TOO_LONG, E_BAD_ARG, E_LOG_FULL, E_NOT_READY, E_NO_MEMORY, E_NO_SLOT,
  REC_HEADER, headerPtr, hdr32, segPtr, slotPtr, ioPtr, logPtr, align16, bump64,
} from './layout';
import { fnv1a, segmentOf } from './hash';
import { lockSegment, unlockSegment, recoverLocksOf } from './lock';
import { segSet, lookupLive, promote, removeEntry, segSweep, resetSegment, segCheck, isExpired, find, logRemoval } from './segment';
import { REASON_EXPIRE } from './layout';

export function abi_version(): u32 {
  return ABI_VERSION;
}

/** Offset of the arena header in linear memory. */
export function header(): usize {
  return headerPtr();
}

// @ts-ignore: decorator
@inline function align64(n: u64): u64 {
  return (n + 63) & ~(<u64>63);
}

/**
 * Lays out a new arena in this memory and claims thread slot 0 for the caller. Returns the
 * header offset (> 0) or a negative error code. Fails with E_BAD_ARG if the memory already holds
 * an arena (attach to it instead).
 */
export function init(
  maxBytes: u32, segments: u32, threads: u32, maxKey: u32, maxValue: u32, logEnabled: u32, defaultTtl: f64,
): i32 {
  if (segments == 0 || segments > 1024 || (segments & (segments - 1)) != 0) return E_BAD_ARG;
  if (threads == 0 || threads > 1024) return E_BAD_ARG;
  if (maxKey == 0 || maxKey > 65535) return E_BAD_ARG;
  if (!(defaultTtl >= 0) || !isFinite(defaultTtl)) return E_BAD_ARG;
  const share = (maxBytes / segments) & ~15;
  if (share < 1024) return E_BAD_ARG;
  // About one bucket per 128 bytes of region: chains stay short for typical entry sizes.
  let buckets: u32 = 8;
  while (buckets < (share >> 7)) buckets <<= 1;
  const region = (share - (buckets << 2)) & ~15;
  const itemLimit = region - <u32>ENTRY_HEADER;
  if (maxValue > itemLimit) maxValue = itemLimit;
  let io = <u64>maxKey + <u64>maxValue + 64 + <u64>REC_HEADER;
  if (io < 65536) io = 65536;
  io = (io + 15) & ~(<u64>15);
  const log: u64 = logEnabled != 0 ? io : 0;

  const H = headerPtr();
  const slotTable = <u64>H + <u64>HEADER_SIZE;
  const segTable = align64(slotTable + <u64>threads * <u64>SLOT_SIZE);
  const ioBase = align64(segTable + <u64>segments * <u64>SEG_SIZE);
  const dataBase = align64(ioBase + <u64>threads * (io + log));
  const stride = <u64>(buckets << 2) + <u64>region;
  const end = dataBase + <u64>segments * stride;
  if (end > 0xFFFF0000) return E_NO_MEMORY;

  // Grow first (harmless if another initialiser wins below): the header itself may not exist yet.
  const pages = <i32>((end + 65535) >> 16);
  const have = memory.size();
  if (pages > have && memory.grow(pages - have) < 0) return E_NO_MEMORY;
  if (ASC_FEATURE_THREADS) {
    if (atomic.cmpxchg<u32>(H + H_STATE, 0, 1) != 0) return E_BAD_ARG;
  } else {
    if (load<u32>(H + H_STATE) != 0) return E_BAD_ARG;
    store<u32>(H + H_STATE, 1);
  }
  store<u32>(H + H_ABI, ABI_VERSION);
  store<u32>(H + H_SEGMENTS, segments);
  store<u32>(H + H_SEG_BITS, ctz<u32>(segments));
  store<u32>(H + H_THREADS, threads);
  store<u32>(H + H_REGION, region);
  store<u32>(H + H_BUCKETS, buckets);
  store<u32>(H + H_IO_BYTES, <u32>io);
  store<u32>(H + H_LOG_BYTES, <u32>log);
  store<u32>(H + H_MAX_KEY, maxKey);
  store<u32>(H + H_MAX_VALUE, maxValue);
  store<u32>(H + H_MAX_BYTES, maxBytes);
  store<u32>(H + H_SEG_TABLE, <u32>segTable);
  store<u32>(H + H_SLOT_TABLE, <u32>slotTable);
  store<u32>(H + H_IO_BASE, <u32>ioBase);
  store<u32>(H + H_DATA_BASE, <u32>dataBase);
  store<u32>(H + H_END, <u32>end);
  store<u32>(H + H_SEG_STRIDE, <u32>stride);
  store<u32>(H + H_IO_STRIDE, <u32>(io + log));
  store<f64>(H + H_DEFAULT_TTL, defaultTtl);
  store<u32>(H + H_TTL_SEEN, defaultTtl > 0 ? 1 : 0);
  // Fresh linear memory is zero, so buckets, locks and counters start cleared without touching
  // (and committing) every page of a large arena.
  for (let i: u32 = 0; i < segments; i++) {
    const seg = <usize>segTable + <usize>i * SEG_SIZE;
    const base = <u32>(dataBase + <u64>i * stride);
    store<u32>(seg + S_BUCKETS, base);
    store<u32>(seg + S_MASK, buckets - 1);
    store<u32>(seg + S_START, base + (buckets << 2));
    store<u32>(seg + S_END, base + (buckets << 2) + region);
    store<u32>(seg + S_TOP, base + (buckets << 2));
    store<u32>(seg + S_BUDGET, region);
  }
  store<u32>(<usize>slotTable + SL_STATE, SLOT_LIVE);
  store<u32>(H + H_MAGIC, MAGIC);
  if (ASC_FEATURE_THREADS) atomic.store<u32>(H + H_STATE, 2);
  else store<u32>(H + H_STATE, 2);
  return <i32>H;
}

/** True once an arena is laid out in this memory with this ABI version. */
export function ready(): bool {
  const H = headerPtr();
  if (<usize>memory.size() << 16 < H + HEADER_SIZE) return false;
  return load<u32>(H + H_MAGIC) == MAGIC && load<u32>(H + H_ABI) == ABI_VERSION &&
    (ASC_FEATURE_THREADS ? atomic.load<u32>(H + H_STATE) : load<u32>(H + H_STATE)) == 2;
}

/**
 * Claims a free thread slot (for a thread attaching to a shared arena). `tag` is the host's name
 * for the thread (e.g. its threadId); `flags` as in set_flags. Returns the slot or E_NO_SLOT.
 * The slot's state and tag form one 64-bit word claimed by one CAS, so a concurrent
 * release_slot(slot, tag) can never match a half-claimed slot.
 */
export function attach(tag: u32, flags: u32): i32 {
  if (!ready()) return E_NOT_READY;
  const n = hdr32(H_THREADS);
  const live = <i64>SLOT_LIVE | (<i64>tag << 32);
  for (let s: u32 = 0; s < n; s++) {
    const p = slotPtr(s);
    let claimed = false;
    if (ASC_FEATURE_THREADS) {
      const cur = atomic.load<i64>(p + SL_STATE);
      claimed = <i32>cur == SLOT_FREE && atomic.cmpxchg<i64>(p + SL_STATE, cur, live) == cur;
    } else if (load<i32>(p + SL_STATE) == SLOT_FREE) {
      store<i64>(p + SL_STATE, live);
      claimed = true;
    }
    if (claimed) {
      store<u32>(p + SL_FLAGS, flags);
      const log = logPtr(s);
      if (hdr32(H_LOG_BYTES) != 0) {
        store<u32>(log, 0);
        store<u32>(log + 4, 0);
      }
      return <i32>s;
    }
  }
  return E_NO_SLOT;
}

/** The slot's thread is done with the arena (it holds no lock between calls). */
export function detach(slot: u32): i32 {
  if (slot >= hdr32(H_THREADS)) return E_BAD_ARG;
  if (ASC_FEATURE_THREADS) atomic.store<i32>(slotPtr(slot) + SL_STATE, SLOT_FREE);
  else store<i32>(slotPtr(slot) + SL_STATE, SLOT_FREE);
  return OK;
}

/**
 * The thread attached to `slot` with `tag` died (e.g. a terminated worker). Marks the slot dead,
 * recovers every segment whose lock it held (resetting that segment: its state may be
 * half-updated), then frees the slot. `by` is the caller's own slot, or any value >= the slot
 * count for a caller without one. Returns the number of segments recovered, or NOT_FOUND when
 * the slot is not live with that tag (already released, detached, or another thread's):
 * releasing twice is harmless.
 */
export function release_slot(slot: u32, tag: u32, by: u32): i32 {
  if (slot >= hdr32(H_THREADS)) return E_BAD_ARG;
  const p = slotPtr(slot);
  const live = <i64>SLOT_LIVE | (<i64>tag << 32);
  const dead = <i64>SLOT_DEAD | (<i64>tag << 32);
  if (ASC_FEATURE_THREADS) {
    if (atomic.cmpxchg<i64>(p + SL_STATE, live, dead) != live) return NOT_FOUND;
  } else {
    if (load<i64>(p + SL_STATE) != live) return NOT_FOUND;
    store<i64>(p + SL_STATE, dead);
  }
  let recovered = 0;
  const segments = hdr32(H_SEGMENTS);
  for (let i: u32 = 0; i < segments; i++) recovered += recoverLocksOf(segPtr(i), slot, by);
  if (ASC_FEATURE_THREADS) atomic.store<i32>(p + SL_STATE, SLOT_FREE);
  else store<i32>(p + SL_STATE, SLOT_FREE);
  return recovered;
}

// @ts-ignore: decorator
@inline function badSlot(slot: u32): bool {
  // One compare per call keeps a host's wrong slot from writing into another thread's I/O area.
  return slot >= hdr32(H_THREADS);
}

/** bit 0: the thread may block in atomic.wait; bits 1-2: eviction log (0 off, 1 keys, 2 keys+values). */
export function set_flags(slot: u32, flags: u32): void {
  if (badSlot(slot)) return;
  store<u32>(slotPtr(slot) + SL_FLAGS, flags);
}

export function io_ptr(slot: u32): usize {
  if (badSlot(slot)) return 0;
  return ioPtr(slot);
}

export function log_ptr(slot: u32): usize {
  if (badSlot(slot)) return 0;
  return logPtr(slot);
}

/** FNV-1a of the first `len` bytes of the slot's I/O area. */
export function hash(slot: u32, len: u32): u32 {
  if (badSlot(slot)) return 0;
  return fnv1a(ioPtr(slot), <usize>len);
}

// @ts-ignore: decorator
@inline function segFor(h: u32): usize {
  return segPtr(segmentOf(h, hdr32(H_SEG_BITS)));
}

// @ts-ignore: decorator
@inline function expiresAt(ttl: f64, now: f64): f64 {
  if (ttl < 0) ttl = load<f64>(headerPtr() + H_DEFAULT_TTL);
  if (ttl <= 0) return 0;
  // Tell hosts the clock now matters (written once: no cache-line ping-pong between threads).
  if (load<u32>(headerPtr() + H_TTL_SEEN) == 0) store<u32>(headerPtr() + H_TTL_SEEN, 1);
  return now + ttl;
}

/**
 * Sets key (io[0, klen)) to value (io[klen, klen + vlen)). ttl: ms, 0 = never, < 0 = default.
 * Returns OK, E_KEY_TOO_LONG, E_TOO_LARGE (refused and counted) or E_LOG_FULL (drain and retry).
 */
export function set(slot: u32, klen: u32, vlen: u32, ttl: f64, now: f64): i32 {
  if (badSlot(slot)) return E_BAD_ARG;
  if (klen > hdr32(H_MAX_KEY)) return E_KEY_TOO_LONG;
  const io = ioPtr(slot);
  const h = fnv1a(io, <usize>klen);
  const seg = segFor(h);
  lockSegment(seg, slot);
  const r = segSet(seg, slot, h, io, klen, io + <usize>klen, vlen, expiresAt(ttl, now), now);
  unlockSegment(seg);
  return r;
}

/** Looks up io[0, klen); on a hit copies the value to io[0, len), promotes it and returns len. */
export function get(slot: u32, klen: u32, now: f64): i32 {
  return keyOp(slot, klen, now, OP_GET);
}

/** As get, without promoting and without counting a hit or miss. */
export function peek(slot: u32, klen: u32, now: f64): i32 {
  return keyOp(slot, klen, now, OP_PEEK);
}

/** 1 if io[0, klen) is present and not expired, else 0. Neither promotes nor counts. */
export function has(slot: u32, klen: u32, now: f64): i32 {
  return keyOp(slot, klen, now, OP_HAS);
}

/** Deletes io[0, klen). Returns 1 if a live entry was deleted, 0 if there was none. */
export function remove(slot: u32, klen: u32, now: f64): i32 {
  return keyOp(slot, klen, now, OP_REMOVE);
}

const OP_GET: i32 = 0;
const OP_PEEK: i32 = 1;
const OP_HAS: i32 = 2;
const OP_REMOVE: i32 = 3;

/** The single-key read/delete path; `op` is a constant at every call site, so each export inlines its own branch. */
// @ts-ignore: decorator
@inline function keyOp(slot: u32, klen: u32, now: f64, op: i32): i32 {
  if (badSlot(slot)) return E_BAD_ARG;
  if (klen > hdr32(H_MAX_KEY)) return E_KEY_TOO_LONG;
  const io = ioPtr(slot);
  const h = fnv1a(io, <usize>klen);
  const seg = segFor(h);
  lockSegment(seg, slot);
  const e = lookupLive(seg, slot, h, io, klen, now);
  let r: i32;
  if (e == 0) {
    if (op == OP_GET) bump64(seg + S_MISSES);
    r = op == OP_GET || op == OP_PEEK ? NOT_FOUND : 0;
  } else if (op == OP_HAS) {
    r = 1;
  } else if (op == OP_REMOVE) {
    removeEntry(seg, e);
    bump64(seg + S_DELETES);
    r = 1;
  } else {
    if (op == OP_GET) {
      promote(seg, e);
      bump64(seg + S_HITS);
    }
    const vlen = load<u32>(e + E_VLEN);
    memory.copy(io, e + ENTRY_HEADER + <usize>klen, <usize>vlen);
    r = <i32>vlen;
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
 * Incremental TTL sweep of one segment: examines at most `maxSteps` entries under that segment's
 * lock. Returns the number expired. Stops early if the eviction log fills up.
 */
export function sweep(slot: u32, segIndex: u32, maxSteps: u32, now: f64): i32 {
  if (badSlot(slot)) return E_BAD_ARG;
  if (segIndex >= hdr32(H_SEGMENTS)) return E_BAD_ARG;
  const seg = segPtr(segIndex);
  lockSegment(seg, slot);
  const r = segSweep(seg, slot, maxSteps, now);
  unlockSegment(seg);
  return r;
}

/**
 * Batch get. Input at io: n u32 key lengths; the keys back to back at io + keysOff. Output at io + outOff:
 * n i32 results (value length or NOT_FOUND), then the values back to back, starting with key
 * `start`. Returns the index one past the last key processed (< n when the output area is full).
 */
export function get_many(slot: u32, n: u32, start: u32, keysOff: u32, outOff: u32, now: f64): i32 {
  if (badSlot(slot)) return E_BAD_ARG;
  const io = ioPtr(slot);
  const limit = io + <usize>hdr32(H_IO_BYTES);
  const maxKey = hdr32(H_MAX_KEY);
  let kptr = io + <usize>keysOff;
  for (let i: u32 = 0; i < start; i++) kptr += <usize>load<u32>(io + (<usize>i << 2));
  const table = io + <usize>outOff;
  let out = table + (<usize>n << 2);
  for (let i = start; i < n; i++) {
    const klen = load<u32>(io + (<usize>i << 2));
    if (klen > maxKey) {
      store<i32>(table + (<usize>i << 2), E_KEY_TOO_LONG);
      kptr += <usize>klen;
      continue;
    }
    const h = fnv1a(kptr, <usize>klen);
    const seg = segFor(h);
    lockSegment(seg, slot);
    const e = lookupLive(seg, slot, h, kptr, klen, now);
    if (e == 0) {
      bump64(seg + S_MISSES);
      unlockSegment(seg);
      store<i32>(table + (<usize>i << 2), NOT_FOUND);
    } else {
      const vlen = <usize>load<u32>(e + E_VLEN);
      if (out + vlen > limit) {
        unlockSegment(seg);
        return <i32>i;
      }
      promote(seg, e);
      bump64(seg + S_HITS);
      memory.copy(out, e + ENTRY_HEADER + <usize>klen, vlen);
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
 * past the last record processed (< n only when the eviction log filled: drain and call again
 * with that start).
 */
export function set_many(slot: u32, n: u32, start: u32, now: f64): i32 {
  if (badSlot(slot)) return E_BAD_ARG;
  const io = ioPtr(slot);
  const maxKey = hdr32(H_MAX_KEY);
  let r = io;
  for (let i: u32 = 0; i < n; i++) {
    const klen = load<u32>(r);
    const vlen = load<u32>(r + 4);
    if (i >= start) {
      let status: i32;
      if (klen > maxKey) {
        status = E_KEY_TOO_LONG;
      } else {
        const kptr = r + 24;
        const h = fnv1a(kptr, <usize>klen);
        const seg = segFor(h);
        lockSegment(seg, slot);
        status = segSet(seg, slot, h, kptr, klen, kptr + <usize>klen, vlen, expiresAt(load<f64>(r + 8), now), now);
        unlockSegment(seg);
        if (status == E_LOG_FULL) return <i32>i;
      }
      store<i32>(r + 16, status);
    }
    r += (24 + <usize>klen + <usize>vlen + 7) & ~(<usize>7);
  }
  return <i32>n;
}

/** Copies a snapshot of segment `segIndex`'s header (SEG_STATS_SIZE bytes) to the slot's io. */
export function stats(slot: u32, segIndex: u32): i32 {
  if (badSlot(slot)) return E_BAD_ARG;
  if (segIndex >= hdr32(H_SEGMENTS)) return E_BAD_ARG;
  const seg = segPtr(segIndex);
  lockSegment(seg, slot);
  memory.copy(ioPtr(slot), seg, SEG_STATS_SIZE);
  unlockSegment(seg);
  return <i32>SEG_STATS_SIZE;
}

/** Entries in the whole arena (a racy sum under concurrent writers; exact when quiescent). */
export function count(): u32 {
  const n = hdr32(H_SEGMENTS);
  let total: u32 = 0;
  for (let i: u32 = 0; i < n; i++) total += load<u32>(segPtr(i) + S_COUNT);
  return total;
}

/** Bytes charged to live entries in the whole arena (racy under concurrent writers). */
export function used(): u32 {
  const n = hdr32(H_SEGMENTS);
  let total: u32 = 0;
  for (let i: u32 = 0; i < n; i++) total += load<u32>(segPtr(i) + S_USED);
  return total;
}

/** Walks segment `segIndex` and checks every invariant; 0 if sound, else a negative code. */
export function check(slot: u32, segIndex: u32): i32 {
  if (badSlot(slot)) return E_BAD_ARG;
  if (segIndex >= hdr32(H_SEGMENTS)) return E_BAD_ARG;
  const seg = segPtr(segIndex);
  lockSegment(seg, slot);
  const r = segCheck(seg);
  unlockSegment(seg);
  return r;
}
