// Reads without the segment lock (shared build; clock and s3fifo, whose hits write only access
// bits). A seqlock: the segment's sequence word is odd while a lock holder changes the segment;
// a reader notes it, looks the key up with every offset range-checked (what it reads may be torn),
// copies the value, and keeps the result only if the word did not change meanwhile. A hit then
// bumps the access bits with a compare-and-swap on the index slot word, which fails harmlessly if
// a writer changed that slot in between. Readers write nothing else shared: hits and misses go to
// the reader's own counters. Anything unusual (an expired entry to remove, a writer that keeps
// the word odd) falls back to the locked path.

import { H_MAX_KEY, H_MAX_VALUE, NOT_FOUND } from './abi';
import { S_SEQ, R_END, E_KLEN, SLOT_BITS, hdr32, fenceAt } from './layout';
import { entryHeader, ringOf, ringLen, ringAt, ringRead } from './ring';
import { tableFind } from './table';
import { isExpired } from './entry';

/** The reader could not get a consistent view: take the lock. */
export const READ_RETRY: i32 = -100;
export const READ_COPY: i32 = 0; // copy the value to `out` (get, peek)
export const READ_HAS: i32 = 1; // presence only

const ATTEMPTS = 4;

/**
 * Looks key [kptr, +klen) up in `seg` without its lock. Returns the value length (copied to
 * `out` with READ_COPY), 1/0 for READ_HAS, NOT_FOUND, or READ_RETRY. On a hit, when `bumpMax` > 0,
 * raises the access bits up to bumpMax. `fenceWord`: a word only this thread writes.
 */
export function readOptimistic(seg: usize, h: u64, kptr: usize, klen: u32, rel: f64, mode: i32, out: usize, bumpMax: u32, fenceWord: usize): i32 {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const s1 = atomic.load<u32>(seg + S_SEQ);
    if ((s1 & 1) != 0) continue;
    const s = tableFind(seg, h, kptr, klen, true);
    let result: i32 = NOT_FOUND;
    let word: u32 = 0;
    if (s != 0) {
      word = load<u32>(s);
      const e = <usize>(word & ~SLOT_BITS);
      const r = ringOf(seg, e);
      if (r == 0 || e + entryHeader() > <usize>load<u32>(r + R_END)) continue;
      const vlen = load<u32>(e);
      const kl = <usize>load<u16>(e + E_KLEN);
      if (<usize>vlen + kl + entryHeader() > ringLen(r) || vlen > hdr32(H_MAX_VALUE) || <u32>kl > hdr32(H_MAX_KEY)) continue;
      if (isExpired(e, rel)) return READ_RETRY; // let the locked path remove and report it
      if (mode == READ_COPY) {
        ringRead(r, ringAt(r, e + entryHeader(), kl), out, <usize>vlen);
        result = <i32>vlen;
      } else {
        result = 1;
      }
    } else if (mode == READ_HAS) {
      result = 0;
    }
    fenceAt(fenceWord);
    if (atomic.load<u32>(seg + S_SEQ) != s1) continue;
    if (s != 0 && bumpMax != 0 && (word & SLOT_BITS) < bumpMax) atomic.cmpxchg<u32>(s, word, word + 1);
    return result;
  }
  return READ_RETRY;
}
