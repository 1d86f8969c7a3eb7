// The invariant checker (tests and debugging): walks every structure of a segment and returns 0,
// or the negative code of the first violated invariant. docs/ABI.md lists the codes.

import { H_MAX_KEY, H_MAX_VALUE, POLICY_LRU } from './abi';
import {
  S_CURSOR, S_LRU_HEAD, S_LRU_TAIL, R_START, R_END, R_HEAD, R_TAIL, R_SPAN, R_LIVE, R_COUNT, R_CAP,
  E_FLAGS, E_KLEN, E_PREV, E_NEXT, FL_DEAD, hdr32,
} from './layout';
import { entryHeader, blockSize, ringNext, ringDistance, ringLen } from './ring';
import { tableSlotOf, tableCount } from './table';
import { policy, ring0, ring1, entryHash, lruBudget, segCount } from './segment';

export const CHECK_RING_BOUNDS: i32 = -101; // head or tail outside its ring, or not 4-aligned
export const CHECK_RING_FULL: i32 = -102; // span leaves no free byte, or an empty ring with head != tail
export const CHECK_BLOCK_BOUNDS: i32 = -103; // a block header crosses the ring's end, or a block is larger than its ring
export const CHECK_SPAN: i32 = -104; // walking the blocks from tail to head does not cover exactly span bytes
export const CHECK_FLAGS: i32 = -105; // a block has unknown flag bits (removed: 1; live: 0, or lru's scan mark)
export const CHECK_COUNT: i32 = -106; // live blocks != the ring's entry count, or the count exceeds its limit
export const CHECK_LIVE_BYTES: i32 = -107; // live bytes != the ring's live byte count
export const CHECK_NOT_INDEXED: i32 = -108; // a live entry is not in the index under its key's hash
export const CHECK_SIZES: i32 = -109; // a key or value longer than the arena allows
export const CHECK_INDEX_COUNT: i32 = -110; // the index holds more or fewer entries than the rings
export const CHECK_LRU_LINKS: i32 = -112; // an lru entry's prev link does not match the walk
export const CHECK_LRU_LENGTH: i32 = -113; // the lru list's length != the entry count, or it holds a dead entry
export const CHECK_LRU_TAIL: i32 = -114; // the lru tail is not the list's last entry
export const CHECK_LRU_BUDGET: i32 = -115; // lru live bytes exceed the budget
export const CHECK_CURSOR: i32 = -117; // the sweep cursor is not a block start in a ring (nor 0)

function checkRing(seg: usize, r: usize, scratch: usize): i32 {
  const start = <usize>load<u32>(r + R_START);
  const end = <usize>load<u32>(r + R_END);
  if (start == end) return load<u32>(r + R_COUNT) == 0 ? 0 : CHECK_COUNT;
  const head = <usize>load<u32>(r + R_HEAD);
  const tail = <usize>load<u32>(r + R_TAIL);
  const span = <usize>load<u32>(r + R_SPAN);
  if (head < start || head >= end || tail < start || tail >= end || ((head | tail) & 3) != 0) return CHECK_RING_BOUNDS;
  if (span + 4 > ringLen(r)) return CHECK_RING_FULL;
  if ((span == 0) != (head == tail)) return CHECK_RING_FULL;
  const cursor = <usize>load<u32>(seg + S_CURSOR);
  const hdr = entryHeader();
  const maxKey = hdr32(H_MAX_KEY);
  const maxValue = hdr32(H_MAX_VALUE);
  let walked: usize = 0;
  let live: u32 = 0;
  let bytes: usize = 0;
  let pos = tail;
  while (pos != head) {
    if (pos + hdr > end || pos < start) return CHECK_BLOCK_BOUNDS;
    const flags = <u32>load<u8>(pos + E_FLAGS);
    // Removed: exactly FL_DEAD. Live: 0, or under lru a scan cursor's mark (scan.ts).
    if ((flags & FL_DEAD) != 0 ? flags != FL_DEAD : flags != 0 && policy() != POLICY_LRU) return CHECK_FLAGS;
    if (<u32>load<u16>(pos + E_KLEN) > maxKey || load<u32>(pos) > maxValue) return CHECK_SIZES;
    const size = blockSize(pos);
    if (size + 4 > ringLen(r)) return CHECK_BLOCK_BOUNDS;
    const next = ringNext(r, pos, size);
    walked += ringDistance(r, pos, next);
    if (walked > span) return CHECK_SPAN;
    if ((flags & FL_DEAD) == 0) {
      live++;
      bytes += size;
      if (tableSlotOf(seg, entryHash(seg, pos, scratch), pos) == 0) return CHECK_NOT_INDEXED;
    }
    pos = next;
  }
  if (walked != span) return CHECK_SPAN;
  if (live != load<u32>(r + R_COUNT) || live > load<u32>(r + R_CAP)) return CHECK_COUNT;
  if (bytes != <usize>load<u32>(r + R_LIVE)) return CHECK_LIVE_BYTES;
  return 0;
}

/** Whether the sweep cursor is 0 or a block start (or head) of one of the rings. */
function cursorValid(seg: usize): bool {
  const cursor = <usize>load<u32>(seg + S_CURSOR);
  if (cursor == 0) return true;
  for (let i = 0; i < 2; i++) {
    const r = i == 0 ? ring0(seg) : ring1(seg);
    if (load<u32>(r + R_START) == load<u32>(r + R_END)) continue;
    const head = <usize>load<u32>(r + R_HEAD);
    let pos = <usize>load<u32>(r + R_TAIL);
    while (true) {
      if (pos == cursor) return true;
      if (pos == head) break;
      pos = ringNext(r, pos, blockSize(pos));
    }
  }
  return false;
}

function checkLru(seg: usize): i32 {
  const count = segCount(seg);
  let n: u32 = 0;
  let prev: usize = 0;
  let e = <usize>load<u32>(seg + S_LRU_HEAD);
  while (e != 0) {
    if (++n > count) return CHECK_LRU_LENGTH;
    if ((<u32>load<u8>(e + E_FLAGS) & FL_DEAD) != 0) return CHECK_LRU_LENGTH;
    if (<usize>load<u32>(e + E_PREV) != prev) return CHECK_LRU_LINKS;
    prev = e;
    e = <usize>load<u32>(e + E_NEXT);
  }
  if (n != count) return CHECK_LRU_LENGTH;
  if (<usize>load<u32>(seg + S_LRU_TAIL) != prev) return CHECK_LRU_TAIL;
  if (<usize>load<u32>(ring0(seg) + R_LIVE) > lruBudget(seg)) return CHECK_LRU_BUDGET;
  return 0;
}

export function segCheck(seg: usize, scratch: usize): i32 {
  let r = checkRing(seg, ring0(seg), scratch);
  if (r != 0) return r;
  r = checkRing(seg, ring1(seg), scratch);
  if (r != 0) return r;
  if (tableCount(seg) != segCount(seg)) return CHECK_INDEX_COUNT;
  if (!cursorValid(seg)) return CHECK_CURSOR;
  if (policy() == POLICY_LRU) return checkLru(seg);
  return 0;
}
