// CLOCK over a ring (FIFO with second chance): a hit only sets the access bit in the entry's index
// slot (no list to relink: the bucket's cache line is already loaded). Room is made at the ring's
// tail: a dead block is dropped; a live entry whose bit is set gets a second chance (the bit is
// cleared and the entry moved to the head); any other is evicted. At most CLOCK_CHANCES second
// chances are given per call, so no call does unbounded work even when every entry was hit.

import { OK, E_LOG_FULL, CLOCK_MAX_FREQ, CLOCK_CHANCES } from './abi';
import { R_TAIL, R_COUNT, R_CAP, scratchOf } from './layout';
import { ringFits, ringDropTail } from './ring';
import { slotFreq } from './table';
import { isDead, isExpired } from './entry';
import { slotOfEntry, evictEntry, killEntry, relocateTail } from './segment';


// @ts-ignore: decorator
@inline export function clockHit(s: usize): void {
  const w = load<u32>(s);
  if ((w & 3) < CLOCK_MAX_FREQ) store<u32>(s, w + 1);
}

/**
 * Evicts at the tail of ring r until `size` bytes fit (and, for a new entry, the ring has an entry
 * to spare). `keep` (the entry being replaced) is never evicted: at the tail it is dropped as replaced.
 */
export function clockMakeRoom(seg: usize, slot: u32, r: usize, size: usize, isNew: bool, keep: usize, rel: f64): i32 {
  let chances = CLOCK_CHANCES;
  while (!ringFits(r, size) || (isNew && load<u32>(r + R_COUNT) >= load<u32>(r + R_CAP))) {
    const t = <usize>load<u32>(r + R_TAIL);
    if (isDead(t)) {
      ringDropTail(seg, r);
      continue;
    }
    const s = slotOfEntry(seg, t, scratchOf(slot));
    if (t == keep) {
      // The entry being replaced reached the tail: its space is the first to reuse (its value
      // was logged as replaced already; the caller inserts the new version afresh).
      killEntry(seg, r, t, s);
      ringDropTail(seg, r);
      continue;
    }
    if (chances > 0 && slotFreq(s) > 0 && !isExpired(t, rel) && relocateTail(seg, r, t, s)) {
      store<u32>(s, load<u32>(s) - 1);
      chances--;
      continue;
    }
    if (!evictEntry(seg, slot, r, t, s, rel)) return E_LOG_FULL;
    ringDropTail(seg, r);
  }
  return OK;
}
