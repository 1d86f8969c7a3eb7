// The single-key operations (set, get, get_ref, peek, has, remove): the key in the slot's I/O
// area, its segment locked for the call, or (clock and s3fifo in the shared build) read without
// the lock first (read.ts).

import {
  H_SEG_BITS, H_MAX_KEY, H_EPOCH, C_HITS, C_MISSES, POLICY_LRU, POLICY_S3FIFO, INFO_VLEN,
  INFO_COST, INFO_EXPIRES, OK, NOT_FOUND, E_KEY_TOO_LONG, E_BAD_ARG, E_LOG_FULL, CLOCK_MAX_FREQ,
  S3_MAX_FREQ,
} from './abi';
import {
  R_END, E_KLEN, headerPtr, hdr32, segPtr, ioPtr, counterPtr, bump64, scratchOf, badSlot,
} from './layout';
import { segmentHash, segmentOf, indexHash } from './hash';
import { lockSegment, unlockSegment } from './lock';
import { entryHeader, blockSize, ringOf } from './ring';
import { slotEntry } from './table';
import { relTime, expiryFor, expiryOf } from './entry';
import { policy, segSet, lookupLive, segRemove, copyValue, onHit } from './segment';
import { readOptimistic, READ_RETRY, READ_COPY, READ_HAS } from './read';

// @ts-ignore: decorator
@inline export function segIndexFor(kptr: usize, klen: u32): u32 {
  return segmentOf(segmentHash(kptr, <usize>klen), hdr32(H_SEG_BITS));
}

// @ts-ignore: decorator
@inline export function countRead(slot: u32, segIndex: u32, hit: bool): void {
  bump64(counterPtr(slot, segIndex) + <usize>(hit ? C_HITS : C_MISSES));
}

/** Access bits a hit may raise them to, for lock-free readers (0: the policy needs the lock). */
// @ts-ignore: decorator
@inline export function optimisticBump(): u32 {
  const p = policy();
  return p == POLICY_LRU ? 0 : p == POLICY_S3FIFO ? S3_MAX_FREQ : CLOCK_MAX_FREQ;
}

/**
 * Sets key (io[0, klen)) to value (io[klen, klen + vlen)). ttl: ms, 0 = never, < 0 = default.
 * Returns OK, E_KEY_TOO_LONG, E_TOO_LARGE (refused and counted) or E_LOG_FULL (drain, repeat).
 */
// @ts-ignore: decorator
@inline export function setKey(slot: u32, klen: u32, vlen: u32, ttl: f64, now: f64): i32 {
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

export const OP_GET: i32 = 0;
export const OP_PEEK: i32 = 1;
export const OP_HAS: i32 = 2;
export const OP_REMOVE: i32 = 3;
export const OP_REF: i32 = 4;

/** The single-key path; `op` is a constant at every call site, so each export inlines its own. */
// @ts-ignore: decorator
@inline export function keyOp(slot: u32, klen: u32, now: f64, op: i32): i32 {
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


/** info (docs/ABI.md): what the cache holds for io[0, klen). */
// @ts-ignore: decorator
@inline export function infoKey(slot: u32, klen: u32, now: f64): i32 {
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
