// Exact LRU. Entries form a doubly linked list (links in the entry header, E_PREV/E_NEXT); a hit
// moves its entry to the head and eviction takes the tail, so the victim is always the least
// recently used entry of the segment. Because LRU victims lie anywhere in the ring, their space
// is reclaimed by cleaning: the ring's tail block, if live, is moved to the head (its neighbours'
// links and its index slot are repointed: O(1) per moved entry). An LRU segment holds live
// entries up to 7/8 of its ring (lruBudget), so cleaning always finds free space within one lap,
// and each set cleans a bounded multiple of its own size to keep a gap ahead of demand.

import { OK, E_LOG_FULL } from './abi';
import { S_LRU_HEAD, S_LRU_TAIL, R_TAIL, R_SPAN, R_LIVE, R_COUNT, R_CAP, E_FLAGS, E_PREV, E_NEXT, scratchOf } from './layout';
import { blockSize, ringLen, ringGap, ringFits, ringDropTail } from './ring';
import { isDead } from './entry';
import {
  ring0, lruBudget, slotOfEntry, evictEntry, killEntry, relocateTail,
} from './segment';

export function lruUnlink(seg: usize, e: usize): void {
  const p = <usize>load<u32>(e + E_PREV);
  const n = <usize>load<u32>(e + E_NEXT);
  if (p != 0) store<u32>(p + E_NEXT, <u32>n);
  else store<u32>(seg + S_LRU_HEAD, <u32>n);
  if (n != 0) store<u32>(n + E_PREV, <u32>p);
  else store<u32>(seg + S_LRU_TAIL, <u32>p);
}

export function lruPushHead(seg: usize, e: usize): void {
  const h = <usize>load<u32>(seg + S_LRU_HEAD);
  store<u32>(e + E_PREV, 0);
  store<u32>(e + E_NEXT, <u32>h);
  if (h != 0) store<u32>(h + E_PREV, <u32>e);
  else store<u32>(seg + S_LRU_TAIL, <u32>e);
  store<u32>(seg + S_LRU_HEAD, <u32>e);
}

// @ts-ignore: decorator
@inline export function lruPromote(seg: usize, e: usize): void {
  if (<usize>load<u32>(seg + S_LRU_HEAD) == e) return;
  lruUnlink(seg, e);
  lruPushHead(seg, e);
  // It moved: a scan whose cursor it is must not resume from its new place (scan.ts). The entry
  // is live, so its flags are only that mark.
  store<u8>(e + E_FLAGS, 0);
}

/** The entry now at `e` was moved (its links came with it): repoint its neighbours. */
export function lruRelinkMoved(seg: usize, e: usize): void {
  const p = <usize>load<u32>(e + E_PREV);
  const n = <usize>load<u32>(e + E_NEXT);
  if (p != 0) store<u32>(p + E_NEXT, <u32>e);
  else store<u32>(seg + S_LRU_HEAD, <u32>e);
  if (n != 0) store<u32>(n + E_PREV, <u32>e);
  else store<u32>(seg + S_LRU_TAIL, <u32>e);
}

/** Reclaims the ring's tail block: drops it if dead, else moves it to the head. */
function cleanOne(seg: usize, slot: u32, rel: f64): bool {
  const r = ring0(seg);
  const t = <usize>load<u32>(r + R_TAIL);
  if (isDead(t)) {
    ringDropTail(seg, r);
    return true;
  }
  const s = slotOfEntry(seg, t, scratchOf(slot));
  if (relocateTail(seg, r, t, s)) return true;
  // Unreachable while live bytes stay within lruBudget (see the header comment); evicting keeps
  // the ring sound should it ever happen.
  if (!evictEntry(seg, slot, r, t, s, rel)) return false;
  ringDropTail(seg, r);
  return true;
}

export function lruMakeRoom(seg: usize, slot: u32, size: usize, isNew: bool, keep: usize, rel: f64): i32 {
  const r = ring0(seg);
  const keepSize = keep != 0 ? <u32>blockSize(keep) : 0;
  const budget = <u32>lruBudget(seg);
  while (load<u32>(r + R_LIVE) - keepSize + <u32>size > budget || (isNew && load<u32>(r + R_COUNT) >= load<u32>(r + R_CAP))) {
    let t = <usize>load<u32>(seg + S_LRU_TAIL);
    if (t == keep) t = <usize>load<u32>(t + E_PREV);
    if (!evictEntry(seg, slot, r, t, slotOfEntry(seg, t, scratchOf(slot)), rel)) return E_LOG_FULL;
  }
  // Every record is written: the old version can go now (the caller inserts the new one afresh),
  // so cleaning never has to keep room for both.
  if (keep != 0) killEntry(seg, r, keep, slotOfEntry(seg, keep, scratchOf(slot)));
  while (!ringFits(r, size)) {
    if (!cleanOne(seg, slot, rel)) return E_LOG_FULL;
  }
  return OK;
}

/** Keeps a gap of 1/16 of the ring ahead of demand, cleaning at most 8x the bytes just stored. */
export function lruPace(seg: usize, slot: u32, size: usize): void {
  const r = ring0(seg);
  const target = <i64>(ringLen(r) >> 4);
  let credit = <i64>size << 3;
  while (credit > 0 && ringGap(r) < target && load<u32>(r + R_SPAN) != 0) {
    const t = <usize>load<u32>(r + R_TAIL);
    credit -= <i64>blockSize(t);
    if (isDead(t)) ringDropTail(seg, r);
    else if (!relocateTail(seg, r, t, slotOfEntry(seg, t, scratchOf(slot)))) return;
  }
}
