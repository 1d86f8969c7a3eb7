// One segment: a region of the arena with its own allocator, hash index, LRU list, TTL sweep and
// counters. Every function here expects the caller to hold the segment's lock.
//
// Allocator: blocks are 16-byte aligned. Free blocks sit in segregated lists (exact classes up to
// 1 KiB, four sub-classes per power of two above) and are coalesced with free neighbours through
// boundary tags; [top, end) is a bump area. When the budget allows an entry but no hole is large
// enough, the segment is compacted (live entries slide down), so an entry that fits the budget
// always fits the region: eviction is exact LRU, never "evict until the allocator is happy".

import {
  S_HEAD, S_TAIL, S_COUNT, S_USED, S_BUDGET, S_START, S_END, S_TOP, S_BUCKETS, S_MASK, S_CURSOR,
  S_FREE_BYTES, S_FREE_COUNT, S_BITMAP, S_FREE_LISTS, S_COMPACTIONS, S_RECOVERIES, S_EVICTIONS,
  S_EXPIRATIONS, S_REJECTED, S_SETS, NUM_CLASSES, BITMAP_WORDS,
  E_PREV, E_NEXT, E_HNEXT, E_HASH, E_VLEN, E_KLEN, E_EXPIRES, ENTRY_HEADER,
  F_SIZE, F_NEXT, F_PREV, BLOCK_FREE, BLOCK_PREV_FREE, FLAG_BITS, MIN_BLOCK,
  OK, NOT_FOUND, E_TOO_LARGE, E_LOG_FULL,
  SL_FLAGS, LOG_MODE_SHIFT, LOG_MODE_MASK, LOG_HEADER, REC_HEADER, REASON_EVICT, REASON_EXPIRE,
  H_LOG_BYTES, H_MAX_VALUE, hdr32, slotPtr, logPtr, entrySize, bump64,
} from './layout';
import { mix32, bytesEqual } from './hash';

// ---------------------------------------------------------------------------------------------
// Free lists

// @ts-ignore: decorator
@inline function classOf(size: u32): u32 {
  if (size <= 1024) return (size >> 4) - 1;
  const l: u32 = 31 - clz<u32>(size);
  return 64 + (l - 10) * 4 + ((size >> (l - 2)) & 3);
}

// @ts-ignore: decorator
@inline function listHead(seg: usize, cls: u32): usize {
  return seg + S_FREE_LISTS + (<usize>cls << 2);
}

function freeInsert(seg: usize, p: usize, size: u32): void {
  store<u32>(p + F_SIZE, size | BLOCK_FREE);
  store<u32>(p + <usize>size - 4, size);
  const cls = classOf(size);
  const head = listHead(seg, cls);
  const first = load<u32>(head);
  store<u32>(p + F_NEXT, first);
  store<u32>(p + F_PREV, 0);
  if (first != 0) store<u32>(<usize>first + F_PREV, <u32>p);
  store<u32>(head, <u32>p);
  const word = seg + S_BITMAP + (<usize>(cls >> 5) << 2);
  store<u32>(word, load<u32>(word) | (<u32>1 << (cls & 31)));
  store<u32>(seg + S_FREE_BYTES, load<u32>(seg + S_FREE_BYTES) + size);
  store<u32>(seg + S_FREE_COUNT, load<u32>(seg + S_FREE_COUNT) + 1);
}

function freeRemove(seg: usize, p: usize): void {
  const size = load<u32>(p + F_SIZE) & ~FLAG_BITS;
  const cls = classOf(size);
  const next = load<u32>(p + F_NEXT);
  const prev = load<u32>(p + F_PREV);
  if (prev != 0) {
    store<u32>(<usize>prev + F_NEXT, next);
  } else {
    store<u32>(listHead(seg, cls), next);
    if (next == 0) {
      const word = seg + S_BITMAP + (<usize>(cls >> 5) << 2);
      store<u32>(word, load<u32>(word) & ~(<u32>1 << (cls & 31)));
    }
  }
  if (next != 0) store<u32>(<usize>next + F_PREV, prev);
  store<u32>(seg + S_FREE_BYTES, load<u32>(seg + S_FREE_BYTES) - size);
  store<u32>(seg + S_FREE_COUNT, load<u32>(seg + S_FREE_COUNT) - 1);
}

/** A free block of at least `size` bytes, or 0. */
function findFree(seg: usize, size: u32): usize {
  const cls = classOf(size);
  let p = <usize>load<u32>(listHead(seg, cls));
  if (size <= 1024) {
    if (p != 0) return p; // exact-size class
  } else {
    for (let i = 0; p != 0 && i < 8; i++) {
      if ((load<u32>(p + F_SIZE) & ~FLAG_BITS) >= size) return p;
      p = <usize>load<u32>(p + F_NEXT);
    }
  }
  // Any block of a larger class is large enough.
  const from = cls + 1;
  for (let w = from >> 5; w < BITMAP_WORDS; w++) {
    let bits = load<u32>(seg + S_BITMAP + (<usize>w << 2));
    if (w == from >> 5) bits &= ~(<u32>0) << (from & 31);
    if (bits != 0) return <usize>load<u32>(listHead(seg, (w << 5) + ctz<u32>(bits)));
  }
  return 0;
}

/** Allocates `size` bytes (a multiple of 16). The caller guarantees used + size <= budget. */
function allocBlock(seg: usize, size: u32): usize {
  const p = findFree(seg, size);
  if (p != 0) {
    const blockSize = load<u32>(p + F_SIZE) & ~FLAG_BITS;
    freeRemove(seg, p);
    const rest = blockSize - size;
    if (rest >= <u32>MIN_BLOCK) {
      freeInsert(seg, p + <usize>size, rest); // the block after it already says "prev free"
    } else {
      const next = p + <usize>blockSize;
      if (next < <usize>load<u32>(seg + S_TOP)) store<u32>(next, load<u32>(next) & ~BLOCK_PREV_FREE);
    }
    store<u32>(p, 0);
    return p;
  }
  let top = <usize>load<u32>(seg + S_TOP);
  if (top + <usize>size > <usize>load<u32>(seg + S_END)) {
    compact(seg);
    top = <usize>load<u32>(seg + S_TOP);
    if (top + <usize>size > <usize>load<u32>(seg + S_END)) return 0; // unreachable when used + size <= budget
  }
  store<u32>(seg + S_TOP, <u32>(top + <usize>size));
  store<u32>(top, 0);
  return top;
}

function freeBlock(seg: usize, p: usize, size: u32): void {
  if ((load<u32>(p) & BLOCK_PREV_FREE) != 0) {
    const prevSize = load<u32>(p - 4);
    p -= <usize>prevSize;
    freeRemove(seg, p);
    size += prevSize;
  }
  const next = p + <usize>size;
  if (next == <usize>load<u32>(seg + S_TOP)) {
    store<u32>(seg + S_TOP, <u32>p); // give it back to the bump area
    return;
  }
  const nextWord = load<u32>(next);
  if ((nextWord & BLOCK_FREE) != 0) {
    freeRemove(seg, next);
    size += nextWord & ~FLAG_BITS;
  } else {
    store<u32>(next, nextWord | BLOCK_PREV_FREE);
  }
  freeInsert(seg, p, size);
}

// @ts-ignore: decorator
@inline function liveSize(e: usize): u32 {
  return <u32>entrySize(<usize>load<u32>(e + E_KLEN), <usize>load<u32>(e + E_VLEN));
}

/** Slides every live entry down to the start of the region, fixing every reference to it. */
function compact(seg: usize): void {
  const top = <usize>load<u32>(seg + S_TOP);
  let p = <usize>load<u32>(seg + S_START);
  let dst = p;
  while (p < top) {
    const word = load<u32>(p);
    if ((word & BLOCK_FREE) != 0) {
      p += <usize>(word & ~FLAG_BITS);
      continue;
    }
    const size = liveSize(p);
    if (dst != p) {
      memory.copy(dst, p, <usize>size);
      relink(seg, p, dst);
    }
    store<u32>(dst, load<u32>(dst) & ~FLAG_BITS);
    dst += <usize>size;
    p += <usize>size;
  }
  store<u32>(seg + S_TOP, <u32>dst);
  memory.fill(seg + S_FREE_LISTS, 0, <usize>NUM_CLASSES << 2);
  memory.fill(seg + S_BITMAP, 0, <usize>BITMAP_WORDS << 2);
  store<u32>(seg + S_FREE_BYTES, 0);
  store<u32>(seg + S_FREE_COUNT, 0);
  bump64(seg + S_COMPACTIONS);
}

/** The entry at `from` now lives at `to`: repoint its LRU neighbours, its bucket chain, the cursor. */
function relink(seg: usize, from: usize, to: usize): void {
  const prev = <usize>(load<u32>(to + E_PREV) & ~FLAG_BITS);
  const next = <usize>load<u32>(to + E_NEXT);
  if (prev != 0) store<u32>(prev + E_NEXT, <u32>to);
  else store<u32>(seg + S_HEAD, <u32>to);
  if (next != 0) store<u32>(next + E_PREV, <u32>to | (load<u32>(next + E_PREV) & FLAG_BITS));
  else store<u32>(seg + S_TAIL, <u32>to);
  const bucket = bucketOf(seg, load<u32>(to + E_HASH));
  let cur = <usize>load<u32>(bucket);
  if (cur == from) {
    store<u32>(bucket, <u32>to);
  } else {
    while (cur != 0) {
      const n = <usize>load<u32>(cur + E_HNEXT);
      if (n == from) {
        store<u32>(cur + E_HNEXT, <u32>to);
        break;
      }
      cur = n;
    }
  }
  if (<usize>load<u32>(seg + S_CURSOR) == from) store<u32>(seg + S_CURSOR, <u32>to);
}

// ---------------------------------------------------------------------------------------------
// Hash index

// @ts-ignore: decorator
@inline export function bucketOf(seg: usize, h: u32): usize {
  return <usize>load<u32>(seg + S_BUCKETS) + (<usize>(mix32(h) & load<u32>(seg + S_MASK)) << 2);
}

/** The live entry whose key equals the `klen` bytes at `kptr`, or 0. Decided by full comparison. */
export function find(seg: usize, h: u32, kptr: usize, klen: u32): usize {
  let e = <usize>load<u32>(bucketOf(seg, h));
  while (e != 0) {
    if (load<u32>(e + E_HASH) == h && load<u32>(e + E_KLEN) == klen &&
        bytesEqual(e + ENTRY_HEADER, kptr, <usize>klen)) return e;
    e = <usize>load<u32>(e + E_HNEXT);
  }
  return 0;
}

function chainUnlink(seg: usize, e: usize): void {
  const bucket = bucketOf(seg, load<u32>(e + E_HASH));
  let cur = <usize>load<u32>(bucket);
  const after = load<u32>(e + E_HNEXT);
  if (cur == e) {
    store<u32>(bucket, after);
    return;
  }
  while (cur != 0) {
    const n = <usize>load<u32>(cur + E_HNEXT);
    if (n == e) {
      store<u32>(cur + E_HNEXT, after);
      return;
    }
    cur = n;
  }
}

// ---------------------------------------------------------------------------------------------
// LRU list (head = most recent)

// @ts-ignore: decorator
@inline export function prevOf(e: usize): usize {
  return <usize>(load<u32>(e + E_PREV) & ~FLAG_BITS);
}

// @ts-ignore: decorator
@inline function setPrev(e: usize, p: usize): void {
  store<u32>(e + E_PREV, <u32>p | (load<u32>(e + E_PREV) & FLAG_BITS));
}

function lruUnlink(seg: usize, e: usize): void {
  const p = prevOf(e);
  const n = <usize>load<u32>(e + E_NEXT);
  if (p != 0) store<u32>(p + E_NEXT, <u32>n);
  else store<u32>(seg + S_HEAD, <u32>n);
  if (n != 0) setPrev(n, p);
  else store<u32>(seg + S_TAIL, <u32>p);
}

function lruPushHead(seg: usize, e: usize): void {
  const h = <usize>load<u32>(seg + S_HEAD);
  setPrev(e, 0);
  store<u32>(e + E_NEXT, <u32>h);
  if (h != 0) setPrev(h, e);
  else store<u32>(seg + S_TAIL, <u32>e);
  store<u32>(seg + S_HEAD, <u32>e);
}

export function promote(seg: usize, e: usize): void {
  if (<usize>load<u32>(seg + S_HEAD) == e) return;
  if (<usize>load<u32>(seg + S_CURSOR) == e) store<u32>(seg + S_CURSOR, <u32>prevOf(e));
  lruUnlink(seg, e);
  lruPushHead(seg, e);
}

// ---------------------------------------------------------------------------------------------
// Entries

// @ts-ignore: decorator
@inline export function isExpired(e: usize, now: f64): bool {
  const x = load<f64>(e + E_EXPIRES);
  return x != 0 && x <= now;
}

export function removeEntry(seg: usize, e: usize): void {
  if (<usize>load<u32>(seg + S_CURSOR) == e) store<u32>(seg + S_CURSOR, <u32>prevOf(e));
  chainUnlink(seg, e);
  lruUnlink(seg, e);
  const size = liveSize(e);
  store<u32>(seg + S_USED, load<u32>(seg + S_USED) - size);
  store<u32>(seg + S_COUNT, load<u32>(seg + S_COUNT) - 1);
  freeBlock(seg, e, size);
}

/**
 * Appends an eviction record to the slot's log when the slot asked for one. Returns false when
 * the log is full: the caller must stop before removing the entry (the host drains and retries).
 */
export function logRemoval(slot: u32, e: usize, reason: u32): bool {
  const mode = (load<u32>(slotPtr(slot) + SL_FLAGS) >> LOG_MODE_SHIFT) & LOG_MODE_MASK;
  if (mode == 0) return true;
  const cap = <usize>hdr32(H_LOG_BYTES);
  if (cap == 0) return true;
  const klen = <usize>load<u32>(e + E_KLEN);
  const vlen = mode == 2 ? <usize>load<u32>(e + E_VLEN) : 0;
  const recSize = (REC_HEADER + klen + vlen + 3) & ~(<usize>3);
  const log = logPtr(slot);
  const used = <usize>load<u32>(log + 4);
  if (LOG_HEADER + used + recSize > cap) return false;
  const r = log + LOG_HEADER + used;
  store<u32>(r, reason);
  store<u32>(r + 4, <u32>klen);
  store<u32>(r + 8, <u32>vlen);
  memory.copy(r + REC_HEADER, e + ENTRY_HEADER, klen);
  if (vlen != 0) memory.copy(r + REC_HEADER + klen, e + ENTRY_HEADER + klen, vlen);
  store<u32>(log, load<u32>(log) + 1);
  store<u32>(log + 4, <u32>(used + recSize));
  return true;
}

/** Inserts or replaces; evicts from the LRU tail until the entry fits the segment's budget. */
export function segSet(
  seg: usize, slot: u32, h: u32, kptr: usize, klen: u32, vptr: usize, vlen: u32, expires: f64, now: f64,
): i32 {
  const size = <u32>entrySize(<usize>klen, <usize>vlen);
  if (size > load<u32>(seg + S_BUDGET) || vlen > hdr32(H_MAX_VALUE)) {
    bump64(seg + S_REJECTED);
    return E_TOO_LARGE;
  }
  const e = find(seg, h, kptr, klen);
  let freed: u32 = 0;
  if (e != 0) {
    freed = liveSize(e);
    if (freed == size) {
      // Same footprint: overwrite in place.
      store<u32>(e + E_VLEN, vlen);
      store<f64>(e + E_EXPIRES, expires);
      memory.copy(e + ENTRY_HEADER + <usize>klen, vptr, <usize>vlen);
      promote(seg, e);
      bump64(seg + S_SETS);
      return OK;
    }
  }
  // Evict as if the old version were already gone (it is replaced below), oldest first.
  const budget = load<u32>(seg + S_BUDGET);
  while (load<u32>(seg + S_USED) - freed + size > budget) {
    let t = <usize>load<u32>(seg + S_TAIL);
    if (t == e) t = prevOf(t);
    const expired = isExpired(t, now);
    if (!logRemoval(slot, t, expired ? REASON_EXPIRE : REASON_EVICT)) return E_LOG_FULL;
    removeEntry(seg, t);
    bump64(seg + (expired ? S_EXPIRATIONS : S_EVICTIONS));
  }
  if (e != 0) removeEntry(seg, e);
  const p = allocBlock(seg, size);
  store<u32>(p + E_NEXT, 0);
  store<u32>(p + E_HASH, h);
  store<u32>(p + E_VLEN, vlen);
  store<u32>(p + E_KLEN, klen);
  store<f64>(p + E_EXPIRES, expires);
  memory.copy(p + ENTRY_HEADER, kptr, <usize>klen);
  memory.copy(p + ENTRY_HEADER + <usize>klen, vptr, <usize>vlen);
  const bucket = bucketOf(seg, h);
  store<u32>(p + E_HNEXT, load<u32>(bucket));
  store<u32>(bucket, <u32>p);
  lruPushHead(seg, p);
  store<u32>(seg + S_USED, load<u32>(seg + S_USED) + size);
  store<u32>(seg + S_COUNT, load<u32>(seg + S_COUNT) + 1);
  bump64(seg + S_SETS);
  return OK;
}

/**
 * Looks a key up; an expired entry is removed (when the log has room) and reported missing.
 * Returns the entry or 0.
 */
export function lookupLive(seg: usize, slot: u32, h: u32, kptr: usize, klen: u32, now: f64): usize {
  const e = find(seg, h, kptr, klen);
  if (e == 0) return 0;
  if (isExpired(e, now)) {
    if (logRemoval(slot, e, REASON_EXPIRE)) {
      removeEntry(seg, e);
      bump64(seg + S_EXPIRATIONS);
    }
    return 0;
  }
  return e;
}

/**
 * Examines up to `maxSteps` entries, starting at the sweep cursor and walking toward the head;
 * past the head it wraps to the tail. It never examines more entries than the segment held when
 * the call began, so `maxSteps >= count` visits every entry exactly once wherever the cursor was.
 * Removes the expired ones; stops early (cursor on the entry) when the eviction log is full.
 */
export function segSweep(seg: usize, slot: u32, maxSteps: u32, now: f64): i32 {
  let t = <usize>load<u32>(seg + S_CURSOR);
  if (t == 0) t = <usize>load<u32>(seg + S_TAIL);
  const count = load<u32>(seg + S_COUNT);
  const limit = maxSteps < count ? maxSteps : count;
  let removed = 0;
  for (let steps: u32 = 0; steps < limit; steps++) {
    // Removals only unlink, and nothing is inserted during a sweep: the walk stays one cycle.
    if (t == 0) t = <usize>load<u32>(seg + S_TAIL);
    const p = prevOf(t);
    if (isExpired(t, now)) {
      if (!logRemoval(slot, t, REASON_EXPIRE)) break;
      removeEntry(seg, t);
      bump64(seg + S_EXPIRATIONS);
      removed++;
    }
    t = p;
  }
  store<u32>(seg + S_CURSOR, <u32>t);
  return removed;
}

/** Drops every entry of the segment; counters are kept. */
export function resetSegment(seg: usize, recovered: bool): void {
  store<u32>(seg + S_HEAD, 0);
  store<u32>(seg + S_TAIL, 0);
  store<u32>(seg + S_COUNT, 0);
  store<u32>(seg + S_USED, 0);
  store<u32>(seg + S_TOP, load<u32>(seg + S_START));
  store<u32>(seg + S_CURSOR, 0);
  store<u32>(seg + S_FREE_BYTES, 0);
  store<u32>(seg + S_FREE_COUNT, 0);
  memory.fill(seg + S_BITMAP, 0, <usize>BITMAP_WORDS << 2);
  memory.fill(seg + S_FREE_LISTS, 0, <usize>NUM_CLASSES << 2);
  memory.fill(<usize>load<u32>(seg + S_BUCKETS), 0, (<usize>load<u32>(seg + S_MASK) + 1) << 2);
  if (recovered) bump64(seg + S_RECOVERIES);
}

// ---------------------------------------------------------------------------------------------
// Invariant checker (tests and debugging): walks the list, the index, the heap and the free lists.

export function segCheck(seg: usize): i32 {
  const count = load<u32>(seg + S_COUNT);
  const start = <usize>load<u32>(seg + S_START);
  const top = <usize>load<u32>(seg + S_TOP);
  const end = <usize>load<u32>(seg + S_END);
  if (top < start || top > end) return -101;
  // Geometry fixed by init: the region follows the bucket array and is exactly the budget.
  if (start != <usize>load<u32>(seg + S_BUCKETS) + ((<usize>load<u32>(seg + S_MASK) + 1) << 2) ||
      end - start != <usize>load<u32>(seg + S_BUDGET)) return -128;
  if (load<u32>(seg + S_USED) > load<u32>(seg + S_BUDGET)) return -102;
  // LRU list, head to tail
  const cursor = <usize>load<u32>(seg + S_CURSOR);
  let cursorSeen = cursor == 0;
  let n: u32 = 0;
  let sum: u32 = 0;
  let prev: usize = 0;
  let e = <usize>load<u32>(seg + S_HEAD);
  while (e != 0) {
    if (++n > count) return -103; // longer than count: a cycle or a stray entry
    if (e == cursor) cursorSeen = true;
    if (e < start || e >= top || (e & 15) != 0) return -104;
    if ((load<u32>(e + E_PREV) & BLOCK_FREE) != 0) return -105;
    if (prevOf(e) != prev) return -106;
    const klen = load<u32>(e + E_KLEN);
    if (find(seg, load<u32>(e + E_HASH), e + ENTRY_HEADER, klen) != e) return -107;
    sum += liveSize(e);
    prev = e;
    e = <usize>load<u32>(e + E_NEXT);
  }
  if (n != count) return -108;
  if (<usize>load<u32>(seg + S_TAIL) != prev) return -109;
  if (sum != load<u32>(seg + S_USED)) return -110;
  if (!cursorSeen) return -127; // the sweep cursor must be 0 or a live entry of this list
  // Index: every chain node is a live entry, and there are exactly `count` of them.
  const buckets = <usize>load<u32>(seg + S_BUCKETS);
  const nb = <usize>load<u32>(seg + S_MASK) + 1;
  let inIndex: u32 = 0;
  for (let b: usize = 0; b < nb; b++) {
    let c = <usize>load<u32>(buckets + (b << 2));
    while (c != 0) {
      if (++inIndex > count) return -111;
      if (bucketOf(seg, load<u32>(c + E_HASH)) != buckets + (b << 2)) return -112;
      c = <usize>load<u32>(c + E_HNEXT);
    }
  }
  if (inIndex != count) return -113;
  // Heap walk: blocks tile [start, top) exactly.
  let p = start;
  let live: u32 = 0;
  let liveBytes: u32 = 0;
  let free: u32 = 0;
  let freeBytes: u32 = 0;
  let prevFree = false;
  while (p < top) {
    const word = load<u32>(p);
    const flaggedPrevFree = (word & BLOCK_PREV_FREE) != 0;
    if (flaggedPrevFree != prevFree) return -114;
    let size: u32;
    if ((word & BLOCK_FREE) != 0) {
      if (prevFree) return -115; // two adjacent free blocks: coalescing failed
      size = word & ~FLAG_BITS;
      if (size < <u32>MIN_BLOCK || (size & 15) != 0) return -116;
      if (load<u32>(p + <usize>size - 4) != size) return -117;
      free++;
      freeBytes += size;
      prevFree = true;
    } else {
      size = liveSize(p);
      live++;
      liveBytes += size;
      prevFree = false;
    }
    p += <usize>size;
  }
  if (p != top) return -118;
  if (prevFree) return -119; // a free block touching the bump area should have been absorbed
  if (live != count || liveBytes != load<u32>(seg + S_USED)) return -120;
  if (free != load<u32>(seg + S_FREE_COUNT) || freeBytes != load<u32>(seg + S_FREE_BYTES)) return -121;
  // Free lists agree with the bitmap and hold only free blocks of their class.
  let listed: u32 = 0;
  for (let c: u32 = 0; c < NUM_CLASSES; c++) {
    let f = <usize>load<u32>(listHead(seg, c));
    const bit = (load<u32>(seg + S_BITMAP + (<usize>(c >> 5) << 2)) >> (c & 31)) & 1;
    if ((f != 0) != (bit != 0)) return -122;
    let back: usize = 0;
    while (f != 0) {
      if (++listed > free) return -123;
      const word = load<u32>(f);
      if ((word & BLOCK_FREE) == 0 || classOf(word & ~FLAG_BITS) != c) return -124;
      if (<usize>load<u32>(f + F_PREV) != back) return -125;
      back = f;
      f = <usize>load<u32>(f + F_NEXT);
    }
  }
  if (listed != free) return -126;
  return 0;
}
