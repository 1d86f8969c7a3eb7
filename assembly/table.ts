// The index of a segment: a bucketized cuckoo hash table with one-byte tags (MemC3-style).
// A key hashes (SipHash-1-3, keyed) to a bucket b1 and a tag; its other bucket b2 is derived from
// b1 and the tag alone, so entries can be moved between their two buckets without reading them.
// A lookup reads at most two 64-byte buckets: 12 tags compared at once (SWAR), and an entry is
// read only when its tag matches. The table is sized so it is at most 7/8 full; an insert that
// finds both buckets full moves one or two entries to their other buckets (bounded search), and in
// the (astronomically rare, with a secret seed) case that fails, the caller evicts an entry of the
// neighbourhood. No key set can make any of this slower: every probe is bounded.
//
// bucket (64 B): [12 x u8 tag (0 = empty)][u32 reserved][12 x u32 slot]
// slot word: entry offset (4-aligned) | access bits (low 2 bits: the policy's hit counter)

import {
  S_INDEX, S_BUCKETS, BUCKET_SLOTS, B_SLOTS, SLOT_BITS, E_KLEN, R_START, R_END,
} from './layout';
import { ringOf, entryHeader } from './ring';
import { bytesEqual } from './hash';

const LO7: u64 = 0x7f7f7f7f7f7f7f7f;
const ONES: u64 = 0x0101010101010101;

/** Bit 7 of each byte of `w` that is zero (exact, no false positives). */
// @ts-ignore: decorator
@inline function zeroBytes64(w: u64): u64 {
  return ~(((w & LO7) + LO7) | w | LO7);
}

// @ts-ignore: decorator
@inline function zeroBytes32(w: u32): u32 {
  return ~(((w & 0x7f7f7f7f) + 0x7f7f7f7f) | w | 0x7f7f7f7f);
}

// @ts-ignore: decorator
@inline export function tagOf(h: u64): u32 {
  const t = <u32>(h >> 56);
  return t != 0 ? t : 1;
}

// @ts-ignore: decorator
@inline export function bucketOf(seg: usize, h: u64): u32 {
  return <u32>(((h & 0xffffffff) * <u64>load<u32>(seg + S_BUCKETS)) >> 32);
}

/** The other bucket of a tag in bucket b: (X(tag) - b) mod n, an involution. */
// @ts-ignore: decorator
@inline export function altBucket(seg: usize, b: u32, tag: u32): u32 {
  const n = load<u32>(seg + S_BUCKETS);
  const x = <u32>((<u64>((tag * 0x9e3779b1) ^ (tag << 24)) * <u64>n) >> 32);
  return x >= b ? x - b : x + n - b;
}

// @ts-ignore: decorator
@inline export function bucketPtr(seg: usize, b: u32): usize {
  return <usize>load<u32>(seg + S_INDEX) + (<usize>b << 6);
}

// @ts-ignore: decorator
@inline export function slotEntry(slotAddr: usize): usize {
  return <usize>(load<u32>(slotAddr) & ~SLOT_BITS);
}

// @ts-ignore: decorator
@inline export function slotFreq(slotAddr: usize): u32 {
  return load<u32>(slotAddr) & SLOT_BITS;
}

/** The tag byte that belongs to a slot word (buckets are 64-aligned). */
// @ts-ignore: decorator
@inline export function tagAddr(slotAddr: usize): usize {
  return (slotAddr & ~(<usize>63)) + (((slotAddr & 63) - B_SLOTS) >> 2);
}

/**
 * Whether the entry at `e` has the `klen`-byte key at `kptr`. With `checked`, `e` may be garbage
 * (an optimistic read racing a writer): it is range-checked first, so nothing outside the rings
 * is read.
 */
// @ts-ignore: decorator
@inline function keyMatches(seg: usize, e: usize, kptr: usize, klen: u32, checked: bool): bool {
  let r: usize = 0;
  if (checked) {
    r = ringOf(seg, e);
    if (r == 0 || (e & 3) != 0 || e + entryHeader() > <usize>load<u32>(r + R_END)) return false;
    if (<usize>klen + entryHeader() > <usize>load<u32>(r + R_END) - <usize>load<u32>(r + R_START)) return false;
  }
  if (<u32>load<u16>(e + E_KLEN) != klen) return false;
  if (!checked) r = ringOf(seg, e);
  const p = e + entryHeader();
  const end = <usize>load<u32>(r + R_END);
  if (p + <usize>klen <= end) return bytesEqual(p, kptr, <usize>klen);
  const first = end - p;
  return bytesEqual(p, kptr, first) && bytesEqual(<usize>load<u32>(r + R_START), kptr + first, <usize>klen - first);
}

// @ts-ignore: decorator
@inline function findIn(seg: usize, b: u32, tag: u32, kptr: usize, klen: u32, checked: bool): usize {
  const bp = bucketPtr(seg, b);
  let m = zeroBytes64(load<u64>(bp) ^ (<u64>tag * ONES));
  while (m != 0) {
    const s = bp + B_SLOTS + ((<usize>ctz<u64>(m) >> 3) << 2);
    if (keyMatches(seg, slotEntry(s), kptr, klen, checked)) return s;
    m &= m - 1;
  }
  let m2 = zeroBytes32(load<u32>(bp + 8) ^ (tag * 0x01010101));
  while (m2 != 0) {
    const s = bp + B_SLOTS + ((8 + (<usize>ctz<u32>(m2) >> 3)) << 2);
    if (keyMatches(seg, slotEntry(s), kptr, klen, checked)) return s;
    m2 &= m2 - 1;
  }
  return 0;
}

/** The slot holding the key, or 0. `checked`: see keyMatches. */
// @ts-ignore: decorator
@inline export function tableFind(seg: usize, h: u64, kptr: usize, klen: u32, checked: bool): usize {
  const tag = tagOf(h);
  const b1 = bucketOf(seg, h);
  const s = findIn(seg, b1, tag, kptr, klen, checked);
  if (s != 0) return s;
  return findIn(seg, altBucket(seg, b1, tag), tag, kptr, klen, checked);
}

/** The slot pointing at entry `e` (whose index hash is h), or 0. */
export function tableSlotOf(seg: usize, h: u64, e: usize): usize {
  const tag = tagOf(h);
  let b = bucketOf(seg, h);
  for (let k = 0; k < 2; k++) {
    const bp = bucketPtr(seg, b);
    for (let i: u32 = 0; i < BUCKET_SLOTS; i++) {
      const s = bp + B_SLOTS + (<usize>i << 2);
      if (<u32>load<u8>(bp + <usize>i) == tag && slotEntry(s) == e) return s;
    }
    b = altBucket(seg, b, tag);
  }
  return 0;
}

// @ts-ignore: decorator
@inline function emptyMask64(bp: usize): u64 {
  return zeroBytes64(load<u64>(bp));
}

// @ts-ignore: decorator
@inline function emptyMask32(bp: usize): u32 {
  return zeroBytes32(load<u32>(bp + 8));
}

// @ts-ignore: decorator
@inline function emptyCount(bp: usize): u32 {
  return <u32>popcnt<u64>(emptyMask64(bp)) + popcnt<u32>(emptyMask32(bp));
}

/** The first empty slot of a bucket, or 0. */
function firstEmpty(bp: usize): usize {
  const m = emptyMask64(bp);
  if (m != 0) return bp + B_SLOTS + ((<usize>ctz<u64>(m) >> 3) << 2);
  const m2 = emptyMask32(bp);
  if (m2 != 0) return bp + B_SLOTS + ((8 + (<usize>ctz<u32>(m2) >> 3)) << 2);
  return 0;
}

// @ts-ignore: decorator
@inline function fill(s: usize, tag: u32, word: u32): void {
  store<u8>(tagAddr(s), <u8>tag);
  store<u32>(s, word);
}

// @ts-ignore: decorator
@inline export function tableClear(s: usize): void {
  store<u8>(tagAddr(s), 0);
  store<u32>(s, 0);
}

/** Moves slot `from` (tag and word) into the empty slot `to`. */
// @ts-ignore: decorator
@inline function moveSlot(from: usize, to: usize): void {
  fill(to, <u32>load<u8>(tagAddr(from)), load<u32>(from));
}

/**
 * Reserves a slot for a new entry of hash h and points it at `e` (access bits 0). Returns the
 * slot, or 0 when both buckets and every bounded displacement path are full.
 */
export function tableInsert(seg: usize, h: u64, e: usize): usize {
  const tag = tagOf(h);
  const b1 = bucketOf(seg, h);
  const b2 = altBucket(seg, b1, tag);
  const p1 = bucketPtr(seg, b1);
  const p2 = bucketPtr(seg, b2);
  // The first bucket while it has room: a lookup reads it first, so a hit then costs one bucket
  // line, not two (balancing the buckets put half the entries in the second). The second bucket
  // and displacement take the overflow; filled to the 7/8 limit, no insert needed an index
  // eviction (1M keys).
  let target = firstEmpty(p1);
  if (target == 0) target = firstEmpty(p2);
  if (target == 0) target = makeRoom(seg, b1, b2);
  if (target != 0) fill(target, tag, <u32>e);
  return target;
}

/** Frees a slot in b1 or b2 by moving an occupant to its other bucket (paths of length 1, then 2). */
function makeRoom(seg: usize, b1: u32, b2: u32): usize {
  for (let k = 0; k < 2; k++) {
    const b = k == 0 ? b1 : b2;
    const bp = bucketPtr(seg, b);
    for (let i: u32 = 0; i < BUCKET_SLOTS; i++) {
      const s = bp + B_SLOTS + (<usize>i << 2);
      const alt = altBucket(seg, b, <u32>load<u8>(bp + <usize>i));
      if (alt == b) continue;
      const free = firstEmpty(bucketPtr(seg, alt));
      if (free != 0) {
        moveSlot(s, free);
        return s;
      }
    }
  }
  for (let k = 0; k < 2; k++) {
    const b = k == 0 ? b1 : b2;
    const bp = bucketPtr(seg, b);
    for (let i: u32 = 0; i < BUCKET_SLOTS; i++) {
      const s = bp + B_SLOTS + (<usize>i << 2);
      const a = altBucket(seg, b, <u32>load<u8>(bp + <usize>i));
      if (a == b) continue;
      const ap = bucketPtr(seg, a);
      for (let j: u32 = 0; j < BUCKET_SLOTS; j++) {
        const s2 = ap + B_SLOTS + (<usize>j << 2);
        const a2 = altBucket(seg, a, <u32>load<u8>(ap + <usize>j));
        if (a2 == a || a2 == b) continue;
        const free = firstEmpty(bucketPtr(seg, a2));
        if (free != 0) {
          moveSlot(s2, free);
          moveSlot(s, s2);
          return s;
        }
      }
    }
  }
  return 0;
}

/** Entries referenced by the index (for the checker): counts non-empty tags. */
export function tableCount(seg: usize): u32 {
  const n = load<u32>(seg + S_BUCKETS);
  let c: u32 = 0;
  for (let b: u32 = 0; b < n; b++) c += BUCKET_SLOTS - emptyCount(bucketPtr(seg, b));
  return c;
}
