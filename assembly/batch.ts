// Batches (get_many, set_many): many keys with one crossing into wasm. Each layout is checked
// against the I/O area before any key is read.

import {
  H_SEG_BITS, H_IO_BYTES, H_MAX_KEY, H_MAX_VALUE, POLICY_LRU, BATCH_RECORD_HEADER, NOT_FOUND,
  E_KEY_TOO_LONG, E_BAD_ARG, E_LOG_FULL,
} from './abi';
import { hdr32, segPtr, ioPtr, scratchOf, badSlot } from './layout';
import { segmentHash, segmentOf, indexHash } from './hash';
import { lockSegment, unlockSegment } from './lock';
import { slotEntry } from './table';
import { relTime, expiryFor } from './entry';
import { policy, segSet, lookupLive, copyValue, onHit } from './segment';
import { readOptimistic, READ_RETRY, READ_COPY } from './read';

import { countRead, optimisticBump } from './keyops';

/**
 * Batch get. Input at io: n u32 key lengths; the keys back to back at io + keysOff. Output at
 * io + outOff: n i32 results (value length or NOT_FOUND), then the values back to back, starting
 * with key `start`. Returns the index one past the last key processed (< n when the output area
 * is full), or E_BAD_ARG when the layout does not fit the I/O area.
 */
export function getMany(slot: u32, n: u32, start: u32, keysOff: u32, outOff: u32, now: f64): i32 {
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
export function setMany(slot: u32, n: u32, start: u32, now: f64): i32 {
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

