// Iteration: a bounded number of a segment's live entries per call, in the order its policy would
// evict them (lru: least recently used first, or most recently used first on request; clock: the
// ring from tail to head; s3fifo: the small queue, then main, or one queue alone with
// SCAN_ONE_QUEUE). Reads only: nothing is promoted, counted or removed (expired entries are
// skipped). A ring walk that ends keeps its end position in the cursor: set back to SCAN_MORE it
// resumes there (a host reads main, then small, then what moved to main meanwhile).
//
// Resuming is robust to changes between calls. A ring cursor is a position in the ring's history
// (an lsn): blocks behind the tail are gone, so a cursor the tail passed restarts at the tail,
// and an entry moved (second chance, promotion) lands at the head, ahead of the cursor. An lru
// list has no positions, so an lru cursor holds two anchors: the last entry looked at, by key,
// and the first one not looked at, by offset. Both carry the scan's mark (a generation
// 1..SCAN_MARKS in their flags, kept when cleaning moves a block, cleared when a hit promotes the
// entry; a replaced entry is a new block, unmarked). The next call continues after the first
// anchor if it is still there and marked, else at the second if it is (checked to be a live
// entry's start before it is trusted), else starts the segment over: resuming after a promoted
// entry would skip every entry between its old place and the head. Either way an entry may come
// twice when it moved after being returned: a host dedupes per segment (an entry never changes
// segment).

import {
  H_MAX_KEY, H_EPOCH, POLICY_LRU, POLICY_S3FIFO, SCAN_STATE, SCAN_RING, SCAN_LSN, SCAN_KLEN, SCAN_KEY,
  SCAN_START, SCAN_MORE, SCAN_DONE, SCAN_VALUES, SCAN_NEWEST_FIRST, SCAN_ONE_QUEUE, SCAN_RECORD_HEADER, E_BAD_ARG,
} from './abi';
import {
  S_LRU_HEAD, S_LRU_TAIL, S_SCAN_GEN, R_START, R_END, R_SPAN, R_TAIL_LSN, E_FLAGS, E_KLEN, E_PREV, E_NEXT, FL_MARK_SHIFT, SCAN_MARKS,
  hdr32, headerPtr,
} from './layout';
import { entryHeader, blockSize, ringNext, ringDistance, ringPosOf, ringOf, ringAt, ringRead } from './ring';
import { tableFind, slotEntry } from './table';
import { expiryOf, isDead, isExpired } from './entry';
import { indexHash } from './hash';
import { policy, ring0, ring1 } from './segment';

/** Where records start in io: after the cursor and one key. */
// @ts-ignore: decorator
@inline export function scanRecords(): usize {
  return (<usize>SCAN_KEY + <usize>hdr32(H_MAX_KEY) + 7) & ~(<usize>7);
}

/** Writes entry e's record at `out` if it fits before `limit`; returns the end, or 0 if not. */
function emit(seg: usize, e: usize, out: usize, limit: usize, values: bool): usize {
  const klen = <usize>load<u16>(e + E_KLEN);
  const vlen = values ? <usize>load<u32>(e) : 0;
  const size = (<usize>SCAN_RECORD_HEADER + klen + vlen + 7) & ~(<usize>7);
  if (out + size > limit) return 0;
  const x = expiryOf(e);
  store<u32>(out, <u32>klen);
  store<u32>(out + 4, <u32>vlen);
  store<f64>(out + 8, x == 0 ? 0 : load<f64>(headerPtr() + <usize>H_EPOCH) + <f64>x);
  store<u64>(out + 16, 0);
  const r = ringOf(seg, e);
  const kp = e + entryHeader();
  const body = <usize>SCAN_RECORD_HEADER + klen + vlen;
  ringRead(r, kp, out + <usize>SCAN_RECORD_HEADER, klen);
  if (vlen != 0) ringRead(r, ringAt(r, kp, klen), out + <usize>SCAN_RECORD_HEADER + klen, vlen);
  // The padding too: records are copied out whole (snapshots), and what io held before must not go with them.
  memory.fill(out + body, 0, size - body);
  return out + size;
}

/**
 * Up to `max` records of segment `seg` into [io + scanRecords(), limit). Returns how many, or
 * E_BAD_ARG for an unknown flag, or a state that does not fit the policy.
 */
export function segScan(seg: usize, io: usize, limit: usize, max: u32, flags: u32, rel: f64): i32 {
  if ((flags & ~(SCAN_VALUES | SCAN_NEWEST_FIRST | SCAN_ONE_QUEUE)) != 0) return E_BAD_ARG;
  const lru = policy() == POLICY_LRU;
  if ((flags & SCAN_NEWEST_FIRST) != 0 && !lru) return E_BAD_ARG;
  if ((flags & SCAN_ONE_QUEUE) != 0 && lru) return E_BAD_ARG;
  const state = load<u32>(io + <usize>SCAN_STATE);
  if (state == SCAN_DONE) return 0;
  if (state != SCAN_START && state != SCAN_MORE) return E_BAD_ARG;
  if (max == 0) return 0; // the cursor stays as it was
  return lru ? scanList(seg, io, limit, max, flags, rel) : scanRings(seg, io, limit, max, flags, rel);
}

function scanList(seg: usize, io: usize, limit: usize, max: u32, flags: u32, rel: f64): i32 {
  const link = (flags & SCAN_NEWEST_FIRST) != 0 ? E_NEXT : E_PREV;
  let e: usize = 0;
  let mark: u32;
  if (load<u32>(io + <usize>SCAN_STATE) == SCAN_MORE) {
    mark = load<u32>(io + <usize>SCAN_RING);
    // The last entry looked at, by key: continue after it if it has not moved.
    const klen = load<u32>(io + <usize>SCAN_KLEN);
    const kp = io + <usize>SCAN_KEY;
    const s = klen <= hdr32(H_MAX_KEY) ? tableFind(seg, indexHash(kp, <usize>klen), kp, klen, false) : 0;
    if (s != 0) {
      const x = slotEntry(s);
      if (markOf(x) == mark) {
        store<u8>(x + E_FLAGS, 0);
        e = <usize>load<u32>(x + link);
        if (e == 0) {
          store<u32>(io + <usize>SCAN_STATE, SCAN_DONE);
          return 0;
        }
      }
    }
    // Else the first entry not looked at, by position: resume at it if it is still there, unmoved.
    if (e == 0) e = anchorAt(seg, io, <usize>load<u32>(io + <usize>SCAN_LSN), mark);
    // Else both have moved or gone: start the segment over (the host drops repeats).
  } else {
    mark = load<u32>(seg + S_SCAN_GEN) % SCAN_MARKS + 1;
    store<u32>(seg + S_SCAN_GEN, mark);
  }
  if (e == 0) e = <usize>load<u32>(seg + (link == E_NEXT ? S_LRU_HEAD : S_LRU_TAIL));
  let out = io + scanRecords();
  let n: u32 = 0;
  let seen: usize = 0;
  const values = (flags & SCAN_VALUES) != 0;
  while (e != 0 && n < max) {
    if (!isExpired(e, rel)) {
      const end = emit(seg, e, out, limit, values);
      if (end == 0) break;
      out = end;
      n++;
    }
    seen = e;
    e = <usize>load<u32>(e + link);
  }
  if (e == 0) {
    store<u32>(io + <usize>SCAN_STATE, SCAN_DONE);
    return <i32>n;
  }
  // Two anchors for the next call: the last entry looked at (returned, or skipped as expired), by
  // key, and the next one, by position; both marked, so that the next call can tell whether they
  // stayed put.
  const k = <usize>load<u16>(seen + E_KLEN);
  ringRead(ringOf(seg, seen), seen + entryHeader(), io + <usize>SCAN_KEY, k);
  store<u32>(io + <usize>SCAN_KLEN, <u32>k);
  store<u32>(io + <usize>SCAN_RING, mark);
  store<u64>(io + <usize>SCAN_LSN, <u64>e);
  store<u8>(seen + E_FLAGS, <u8>(mark << FL_MARK_SHIFT));
  store<u8>(e + E_FLAGS, <u8>(mark << FL_MARK_SHIFT));
  store<u32>(io + <usize>SCAN_STATE, SCAN_MORE);
  return <i32>n;
}

// @ts-ignore: decorator
@inline function markOf(e: usize): u32 {
  return <u32>load<u8>(e + E_FLAGS) >> FL_MARK_SHIFT;
}

/**
 * The live entry at `off` if it is one, unmoved since this scan marked it; else 0. `off` comes
 * from the cursor and the entry may be long gone: whatever lies there now is checked to be an
 * entry's start before anything of it is trusted (inside the ring, live, marked, and the index
 * finds the key stored there at exactly this offset).
 */
function anchorAt(seg: usize, io: usize, off: usize, mark: u32): usize {
  const r = ring0(seg);
  const hdr = entryHeader();
  if (off == 0 || (off & 3) != 0 || off < <usize>load<u32>(r + R_START) || off + hdr > <usize>load<u32>(r + R_END)) return 0;
  if (isDead(off) || markOf(off) != mark) return 0;
  const klen = <usize>load<u16>(off + E_KLEN);
  if (klen > <usize>hdr32(H_MAX_KEY)) return 0;
  const tmp = io + scanRecords(); // the records area: free until this call writes records
  ringRead(r, off + hdr, tmp, klen);
  const s = tableFind(seg, indexHash(tmp, klen), tmp, <u32>klen, false);
  if (s == 0 || slotEntry(s) != off) return 0;
  store<u8>(off + E_FLAGS, 0);
  return off;
}

function scanRings(seg: usize, io: usize, limit: usize, max: u32, flags: u32, rel: f64): i32 {
  const s3 = policy() == POLICY_S3FIFO;
  let which: u32 = 0;
  let lsn: u64 = 0;
  if (load<u32>(io + <usize>SCAN_STATE) == SCAN_MORE) {
    which = load<u32>(io + <usize>SCAN_RING);
    lsn = load<u64>(io + <usize>SCAN_LSN);
    if (which > 1 || (which == 1 && !s3)) return E_BAD_ARG;
  } else if (s3) {
    which = 1; // the small queue first: entries only ever move from it to main
  }
  let out = io + scanRecords();
  let n: u32 = 0;
  const values = (flags & SCAN_VALUES) != 0;
  while (true) {
    const r = which == 1 ? ring1(seg) : ring0(seg);
    const tailLsn = load<u64>(r + R_TAIL_LSN);
    const headLsn = tailLsn + <u64>load<u32>(r + R_SPAN);
    if (lsn < tailLsn) lsn = tailLsn;
    let full = false;
    while (lsn < headLsn && n < max) {
      const pos = ringPosOf(r, lsn);
      const next = ringNext(r, pos, blockSize(pos));
      if (!isDead(pos) && !isExpired(pos, rel)) {
        const end = emit(seg, pos, out, limit, values);
        if (end == 0) {
          full = true;
          break;
        }
        out = end;
        n++;
      }
      lsn += <u64>ringDistance(r, pos, next);
    }
    if (lsn < headLsn || full || n >= max) {
      store<u32>(io + <usize>SCAN_STATE, SCAN_MORE);
      store<u32>(io + <usize>SCAN_RING, which);
      store<u64>(io + <usize>SCAN_LSN, lsn);
      return <i32>n;
    }
    if (which == 0 || (flags & SCAN_ONE_QUEUE) != 0) break;
    which = 0;
    lsn = 0;
  }
  // Done, keeping the end position: set back to SCAN_MORE, this cursor yields what is appended
  // to that queue since (entries moved or added to it), and nothing it has yielded.
  store<u32>(io + <usize>SCAN_STATE, SCAN_DONE);
  store<u32>(io + <usize>SCAN_RING, which);
  store<u64>(io + <usize>SCAN_LSN, lsn);
  return <i32>n;
}
