// One segment: a share of the arena with its own lock, index (table.ts), ring(s) of entries
// (ring.ts), eviction policy (policy-*.ts), TTL sweep (sweep.ts) and counters. Every function here
// expects the caller to hold the segment's lock (optimistic readers live in read.ts).

import {
  H_POLICY, H_MAX_VALUE, H_ENTRY_LIMIT, POLICY_LRU, POLICY_S3FIFO, CLOCK_MAX_FREQ, S3_MAX_FREQ, LRU_SLACK_SHIFT,
  OK, E_TOO_LARGE, E_LOG_FULL, REASON_EVICT, REASON_EXPIRE, REASON_DELETE, REASON_REPLACE,
} from './abi';
import {
  S_INDEX, S_BUCKETS, S_GHOST, S_GHOST_MASK, S_CURSOR, S_LRU_HEAD, S_LRU_TAIL, S_MODS, S_RING0,
  S_RING1, S_SETS, S_DELETES, S_EVICTIONS, S_EXPIRATIONS, S_REJECTED, S_MOVES, S_RECOVERIES,
  S_INDEX_EVICTIONS, R_START, R_END, R_HEAD, R_TAIL, R_SPAN, R_LIVE, R_COUNT, R_TAIL_LSN, E_FLAGS,
  E_KLEN, FL_DEAD, SLOT_BITS, BUCKET_SLOTS, B_SLOTS, hdr32, bump64, align4,
} from './layout';
import { indexHash } from './hash';
import {
  entryHeader, blockSize, ringOf, ringLen, ringNext, ringDistance, ringAppend, ringDropTail,
  ringAt, ringRead, ringWrite, ringMove,
} from './ring';
import {
  tableFind, tableSlotOf, tableInsert, tableClear, slotEntry, slotFreq, bucketOf, bucketPtr,
} from './table';
import { isExpired, writeHeader, setExpiry } from './entry';
import { logRemoval } from './evict-log';
import { lruUnlink, lruPushHead, lruPromote, lruRelinkMoved, lruMakeRoom, lruPace } from './policy-lru';
import { clockMakeRoom, clockHit } from './policy-clock';
import { s3MakeRoom, s3TargetRing, s3Hit, ghostForget } from './policy-s3fifo';

// @ts-ignore: decorator
@inline export function policy(): u32 {
  return hdr32(H_POLICY);
}

// @ts-ignore: decorator
@inline export function ring0(seg: usize): usize {
  return seg + S_RING0;
}

// @ts-ignore: decorator
@inline export function ring1(seg: usize): usize {
  return seg + S_RING1;
}

/** Live entries in the segment. */
// @ts-ignore: decorator
@inline export function segCount(seg: usize): u32 {
  return load<u32>(seg + S_RING0 + R_COUNT) + load<u32>(seg + S_RING1 + R_COUNT);
}

/** Bytes charged to live entries in the segment. */
// @ts-ignore: decorator
@inline export function segUsed(seg: usize): u32 {
  return load<u32>(seg + S_RING0 + R_LIVE) + load<u32>(seg + S_RING1 + R_LIVE);
}

/** The index hash of the key of entry `e` (its key may wrap: then it is gathered in `scratch`). */
export function entryHash(seg: usize, e: usize, scratch: usize): u64 {
  const r = ringOf(seg, e);
  const klen = <usize>load<u16>(e + E_KLEN);
  const kp = e + entryHeader();
  if (kp + klen <= <usize>load<u32>(r + R_END)) return indexHash(kp, klen);
  ringRead(r, kp, scratch, klen);
  return indexHash(scratch, klen);
}

/** The index slot of live entry `e`. */
// @ts-ignore: decorator
@inline export function slotOfEntry(seg: usize, e: usize, scratch: usize): usize {
  return tableSlotOf(seg, entryHash(seg, e, scratch), e);
}

/**
 * Takes live entry `e` (in ring r) out of the policy's lists and the ring's live counts, leaving a
 * dead block for the ring's tail to reclaim. Its index slot is the caller's business.
 */
export function retireEntry(seg: usize, r: usize, e: usize): void {
  if (policy() == POLICY_LRU) lruUnlink(seg, e);
  store<u8>(e + E_FLAGS, <u8>FL_DEAD);
  store<u32>(r + R_LIVE, load<u32>(r + R_LIVE) - <u32>blockSize(e));
  store<u32>(r + R_COUNT, load<u32>(r + R_COUNT) - 1);
  store<u32>(seg + S_MODS, load<u32>(seg + S_MODS) + 1);
}

/** Removes live entry `e` (ring r, index slot s) from every structure but its ring. */
export function killEntry(seg: usize, r: usize, e: usize, s: usize): void {
  tableClear(s);
  retireEntry(seg, r, e);
}

/** Logs and kills entry `e` as evicted or expired. False (nothing changed) when the log is full. */
export function evictEntry(seg: usize, slot: u32, r: usize, e: usize, s: usize, rel: f64): bool {
  const expired = isExpired(e, rel);
  if (!logRemoval(slot, seg, e, expired ? REASON_EXPIRE : REASON_EVICT)) return false;
  killEntry(seg, r, e, s);
  bump64(seg + (expired ? S_EXPIRATIONS : S_EVICTIONS));
  return true;
}

/**
 * Moves the tail block `t` of ring r to r's head (a second chance, or cleaning). False when the
 * move would leave the ring no free byte (a head close to the ring's end may skip a few bytes
 * the tail does not give back); the caller then evicts instead.
 */
export function relocateTail(seg: usize, r: usize, t: usize, s: usize): bool {
  const size = blockSize(t);
  const tNext = ringNext(r, t, size);
  const head = <usize>load<u32>(r + R_HEAD);
  const hNext = ringNext(r, head, size);
  const tailUse = <i64>ringDistance(r, t, tNext);
  const headUse = <i64>ringDistance(r, head, hNext);
  const free = <i64>ringLen(r) - <i64>load<u32>(r + R_SPAN);
  if (free + tailUse - headUse < 4) return false;
  ringMove(r, t, r, head, size);
  store<u32>(r + R_HEAD, <u32>hNext);
  store<u32>(r + R_TAIL, <u32>tNext);
  store<u32>(r + R_SPAN, <u32>(<i64>load<u32>(r + R_SPAN) + headUse - tailUse));
  store<u64>(r + R_TAIL_LSN, load<u64>(r + R_TAIL_LSN) + <u64>tailUse);
  if (<usize>load<u32>(seg + S_CURSOR) == t) store<u32>(seg + S_CURSOR, <u32>tNext);
  store<u32>(s, (load<u32>(s) & SLOT_BITS) | <u32>head);
  if (policy() == POLICY_LRU) lruRelinkMoved(seg, head);
  store<u32>(seg + S_MODS, load<u32>(seg + S_MODS) + 1);
  bump64(seg + S_MOVES);
  return true;
}

/** Moves the tail block `t` of ring `from` to the head of ring `to` (room checked by the caller). */
export function moveTailAcross(seg: usize, from: usize, to: usize, t: usize, s: usize): usize {
  const size = blockSize(t);
  const dst = ringAppend(to, size);
  ringMove(from, t, to, dst, size);
  ringDropTail(seg, from);
  store<u32>(from + R_LIVE, load<u32>(from + R_LIVE) - <u32>size);
  store<u32>(from + R_COUNT, load<u32>(from + R_COUNT) - 1);
  store<u32>(to + R_LIVE, load<u32>(to + R_LIVE) + <u32>size);
  store<u32>(to + R_COUNT, load<u32>(to + R_COUNT) + 1);
  store<u32>(s, <u32>dst); // access bits start over in the new queue
  store<u32>(seg + S_MODS, load<u32>(seg + S_MODS) + 1);
  bump64(seg + S_MOVES);
  return dst;
}

/** The most one entry may cost (written by init: the lru budget, or a queue less two headers). */
// @ts-ignore: decorator
@inline export function maxEntryCost(seg: usize): usize {
  return <usize>hdr32(H_ENTRY_LIMIT);
}

/** Bytes of live entries an LRU segment holds: 7/8 of its ring, the rest is room for cleaning. */
// @ts-ignore: decorator
@inline export function lruBudget(seg: usize): usize {
  return lruBudgetOf(ringLen(ring0(seg)));
}

// @ts-ignore: decorator
@inline export function lruBudgetOf(len: usize): usize {
  return (len - (len >> LRU_SLACK_SHIFT)) & ~(<usize>3);
}

/** Called on a hit (get, get_many, a same-size replace): the policy's bookkeeping. */
// @ts-ignore: decorator
@inline export function onHit(seg: usize, s: usize, e: usize): void {
  const p = policy();
  if (p == POLICY_LRU) lruPromote(seg, e);
  else if (p == POLICY_S3FIFO) s3Hit(s);
  else clockHit(s);
}

/** The access bits of a replaced entry's new version: one more access. */
// @ts-ignore: decorator
@inline function hitBits(f: u32): u32 {
  const p = policy();
  if (p == POLICY_LRU) return 0;
  const max = p == POLICY_S3FIFO ? S3_MAX_FREQ : CLOCK_MAX_FREQ;
  return f < max ? f + 1 : f;
}

/**
 * Makes room for a `size`-byte block in ring r: evicts (or expires) what the policy chooses,
 * never `keep` (the entry being replaced). `isNew`: the block adds an entry (the ring's entry
 * limit applies). Returns OK or E_LOG_FULL (drain and repeat the call).
 */
function makeRoom(seg: usize, slot: u32, r: usize, size: usize, isNew: bool, keep: usize, rel: f64): i32 {
  const p = policy();
  if (p == POLICY_LRU) return lruMakeRoom(seg, slot, size, isNew, keep, rel);
  if (p == POLICY_S3FIFO) return s3MakeRoom(seg, slot, r, size, isNew, keep, rel);
  return clockMakeRoom(seg, slot, r, size, isNew, keep, rel);
}

/**
 * Inserts or replaces. Returns OK, E_TOO_LARGE (refused and counted, nothing changed) or
 * E_LOG_FULL (the log filled while making room: drain it and repeat the call).
 */
export function segSet(
  seg: usize, slot: u32, h: u64, kptr: usize, klen: u32, vptr: usize, vlen: u32, x: u64, rel: f64,
): i32 {
  const size = align4(entryHeader() + <usize>klen + <usize>vlen);
  if (size > maxEntryCost(seg) || vlen > hdr32(H_MAX_VALUE)) {
    bump64(seg + S_REJECTED);
    return E_TOO_LARGE;
  }
  let s = tableFind(seg, h, kptr, klen, false);
  const old = s != 0 ? slotEntry(s) : 0;
  if (old != 0) {
    if (!logRemoval(slot, seg, old, REASON_REPLACE)) return E_LOG_FULL;
    if (blockSize(old) == size) {
      // Same footprint: overwrite in place (the replaced value was logged above).
      const r = ringOf(seg, old);
      store<u32>(old, vlen);
      setExpiry(old, x);
      ringWrite(r, ringAt(r, old + entryHeader(), <usize>klen), vptr, <usize>vlen);
      onHit(seg, s, old);
      bump64(seg + S_SETS);
      return OK;
    }
  }
  const r = policy() == POLICY_S3FIFO ? s3TargetRing(seg, h, size, old) : ring0(seg);
  // The target ring gains an entry unless the old version lives there (s3fifo may move it).
  const st = makeRoom(seg, slot, r, size, old == 0 || ringOf(seg, old) != r, old, rel);
  if (st != OK) return st;
  let word: u32 = 0;
  // Making room may have moved the old entry, or (rarely) dropped it: look again.
  if (old != 0) s = tableFind(seg, h, kptr, klen, false);
  if (s != 0) {
    // Replaced: the new version takes over the old one's index slot and counts as an access.
    const moved = slotEntry(s);
    word = hitBits(slotFreq(s));
    retireEntry(seg, ringOf(seg, moved), moved);
  } else {
    s = tableInsert(seg, h, 0);
    if (s == 0) {
      if (!indexEvict(seg, slot, h, rel)) return E_LOG_FULL;
      s = tableInsert(seg, h, 0);
    }
    if (policy() == POLICY_S3FIFO && r == ring0(seg)) ghostForget(seg, h);
  }
  const e = ringAppend(r, size);
  writeHeader(e, klen, vlen, x);
  const kp = e + entryHeader();
  ringWrite(r, kp, kptr, <usize>klen);
  ringWrite(r, ringAt(r, kp, <usize>klen), vptr, <usize>vlen);
  store<u32>(s, <u32>e | word);
  store<u32>(r + R_LIVE, load<u32>(r + R_LIVE) + <u32>size);
  store<u32>(r + R_COUNT, load<u32>(r + R_COUNT) + 1);
  if (policy() == POLICY_LRU) {
    lruPushHead(seg, e);
    lruPace(seg, slot, size);
  }
  bump64(seg + S_SETS);
  return OK;
}

/**
 * Both buckets of a new key are full and no bounded displacement frees a slot (with a secret
 * seed this takes an improbable coincidence): evict the entry in the key's first bucket that the
 * policy values least (lowest access bits). False when the log is full.
 */
function indexEvict(seg: usize, slot: u32, h: u64, rel: f64): bool {
  const bp = bucketPtr(seg, bucketOf(seg, h));
  let victim: usize = bp + B_SLOTS;
  for (let i: u32 = 1; i < BUCKET_SLOTS; i++) {
    const s = bp + B_SLOTS + (<usize>i << 2);
    if (slotFreq(s) < slotFreq(victim)) victim = s;
  }
  const e = slotEntry(victim);
  if (!evictEntry(seg, slot, ringOf(seg, e), e, victim, rel)) return false;
  bump64(seg + S_INDEX_EVICTIONS);
  return true;
}

/**
 * Looks a key up for a read. An expired entry is removed (when the log has room) and reported
 * missing. Returns the entry's index slot, or 0.
 */
export function lookupLive(seg: usize, slot: u32, h: u64, kptr: usize, klen: u32, rel: f64): usize {
  const s = tableFind(seg, h, kptr, klen, false);
  if (s == 0) return 0;
  const e = slotEntry(s);
  if (isExpired(e, rel)) {
    evictEntry(seg, slot, ringOf(seg, e), e, s, rel);
    return 0;
  }
  return s;
}

/** Removes a key: 1 if a live entry was removed, 0 if none, E_LOG_FULL (removals are logged). */
export function segRemove(seg: usize, slot: u32, h: u64, kptr: usize, klen: u32, rel: f64): i32 {
  const s = lookupLive(seg, slot, h, kptr, klen, rel);
  if (s == 0) return 0;
  const e = slotEntry(s);
  if (!logRemoval(slot, seg, e, REASON_DELETE)) return E_LOG_FULL;
  killEntry(seg, ringOf(seg, e), e, s);
  bump64(seg + S_DELETES);
  return 1;
}

/** Copies the value of entry `e` to `dst`. */
export function copyValue(seg: usize, e: usize, dst: usize): u32 {
  const r = ringOf(seg, e);
  const vlen = load<u32>(e);
  ringRead(r, ringAt(r, e + entryHeader(), <usize>load<u16>(e + E_KLEN)), dst, <usize>vlen);
  return vlen;
}

/** Drops every entry of the segment; counters are kept. */
export function resetSegment(seg: usize, recovered: bool): void {
  for (let i = 0; i < 2; i++) {
    const r = seg + (i == 0 ? S_RING0 : S_RING1);
    const start = load<u32>(r + R_START);
    store<u32>(r + R_HEAD, start);
    store<u32>(r + R_TAIL, start);
    store<u32>(r + R_SPAN, 0);
    // Skip the lsn to the next lap's start (where the tail now is): older cursors are stale.
    const len = <u64>ringLen(r);
    if (len != 0) store<u64>(r + R_TAIL_LSN, (load<u64>(r + R_TAIL_LSN) / len + 2) * len);
    store<u32>(r + R_LIVE, 0);
    store<u32>(r + R_COUNT, 0);
  }
  store<u32>(seg + S_LRU_HEAD, 0);
  store<u32>(seg + S_LRU_TAIL, 0);
  store<u32>(seg + S_CURSOR, 0);
  store<u32>(seg + S_MODS, load<u32>(seg + S_MODS) + 1);
  memory.fill(<usize>load<u32>(seg + S_INDEX), 0, <usize>load<u32>(seg + S_BUCKETS) << 6);
  const ghost = <usize>load<u32>(seg + S_GHOST);
  if (ghost != 0) memory.fill(ghost, 0, (<usize>load<u32>(seg + S_GHOST_MASK) + 1) << 1);
  if (recovered) bump64(seg + S_RECOVERIES);
}
