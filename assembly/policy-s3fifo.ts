// S3-FIFO (Yang et al., "FIFO queues are all you need for cache eviction", SOSP'23) over two
// rings: a small queue (ring 1, S3_SMALL_PERCENT of the storage) takes new keys; a main queue
// (ring 0) takes keys that proved themselves. A hit only bumps a 2-bit counter in the index slot.
// Room in small: its tail entry moves to main if it was hit (S3_MOVE_FREQ times), else it is
// evicted and its fingerprint remembered in the ghost filter. Room in main: its tail entry gets a
// second chance (counter decremented, moved to main's head) while its counter is non-zero, else
// it is evicted. A new key whose fingerprint is in the ghost filter goes straight to main.
// While main has free room a new key goes there directly (see s3TargetRing).
// The ghost filter is a direct-mapped table of 16-bit fingerprints (one slot per main entry):
// an old fingerprint is overwritten rather than aged out in order, a close approximation of
// the paper's FIFO of ghost keys at 2 bytes per entry.

import { OK, E_LOG_FULL, S3_MOVE_FREQ, S3_MAX_FREQ, S3_CHANCES } from './abi';
import { S_GHOST, S_GHOST_MASK, S_GHOST_HITS, R_TAIL, R_COUNT, R_CAP, R_START, R_END, bump64, scratchOf } from './layout';
import { ringFits, ringDropTail, ringLen, blockSize, entryHeader } from './ring';
import { slotFreq, tableSlotOf } from './table';
import { isDead, isExpired } from './entry';
import {
  ring0, ring1, entryHash, slotOfEntry, evictEntry, killEntry, relocateTail, moveTailAcross,
} from './segment';


// @ts-ignore: decorator
@inline export function s3Hit(s: usize): void {
  const w = load<u32>(s);
  if ((w & 3) < S3_MAX_FREQ) store<u32>(s, w + 1);
}

/**
 * The ghost remembers about as many keys as main holds (the paper's ghost queue is as long as
 * main, in entries): of its slots, only the first `main's entry count` are used, chosen by
 * multiply-shift. A larger ghost sends keys seen once long ago straight to main (measured: a
 * ghost 4× main's count cost 0.8 points on Zipf). When main's count changes, some fingerprints
 * map elsewhere and are forgotten: a false "not seen" only sends that key through small.
 */
// @ts-ignore: decorator
@inline function ghostSlot(seg: usize, h: u64): usize {
  const slots = <u64>load<u32>(seg + S_GHOST_MASK) + 1;
  let span = <u64>load<u32>(ring0(seg) + R_COUNT);
  if (span > slots) span = slots;
  if (span == 0) span = 1;
  return <usize>load<u32>(seg + S_GHOST) + (<usize>(((h >> 32) * span) >> 32) << 1);
}

// @ts-ignore: decorator
@inline function fingerprint(h: u64): u16 {
  return <u16>((<u32>(h >> 16) & 0xffff) | 1);
}

export function ghostHas(seg: usize, h: u64): bool {
  return load<u16>(ghostSlot(seg, h)) == fingerprint(h);
}

export function ghostForget(seg: usize, h: u64): void {
  const g = ghostSlot(seg, h);
  if (load<u16>(g) == fingerprint(h)) store<u16>(g, 0);
}

/** Which ring a `size`-byte entry goes to (`old`: the entry it replaces, or 0). */
export function s3TargetRing(seg: usize, h: u64, size: usize, old: usize): usize {
  const small = ring1(seg);
  const fitsSmall = size <= ringLen(small) - 2 * entryHeader();
  if (old != 0) {
    const r = <usize>load<u32>(small + R_START) <= old && old < <usize>load<u32>(small + R_END) ? small : ring0(seg);
    return r == small && !fitsSmall ? ring0(seg) : r;
  }
  const main = ring0(seg);
  if (!fitsSmall) return main;
  if (ghostHas(seg, h)) {
    bump64(seg + S_GHOST_HITS);
    return main;
  }
  // While main has room (warming up, or after deletes), a new key takes it: the paper's small
  // queue grows into whatever main does not use, and this keeps the same bytes in use. Once main
  // is full, new keys go through the small queue.
  if (ringFits(main, size) && load<u32>(main + R_COUNT) < load<u32>(main + R_CAP)) return main;
  return small;
}

export function s3MakeRoom(seg: usize, slot: u32, r: usize, size: usize, isNew: bool, keep: usize, rel: f64): i32 {
  return r == ring1(seg) ? makeRoomSmall(seg, slot, size, isNew, keep, rel) : makeRoomMain(seg, slot, size, isNew, keep, rel);
}

function makeRoomMain(seg: usize, slot: u32, size: usize, isNew: bool, keep: usize, rel: f64): i32 {
  const r = ring0(seg);
  let chances = S3_CHANCES;
  while (!ringFits(r, size) || (isNew && load<u32>(r + R_COUNT) >= load<u32>(r + R_CAP))) {
    const t = <usize>load<u32>(r + R_TAIL);
    if (isDead(t)) {
      ringDropTail(seg, r);
      continue;
    }
    const s = slotOfEntry(seg, t, scratchOf(slot));
    if (t == keep) {
      killEntry(seg, r, t, s); // being replaced: see clockMakeRoom
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

function makeRoomSmall(seg: usize, slot: u32, size: usize, isNew: bool, keep: usize, rel: f64): i32 {
  const r = ring1(seg);
  const scratch = scratchOf(slot);
  while (!ringFits(r, size) || (isNew && load<u32>(r + R_COUNT) >= load<u32>(r + R_CAP))) {
    const t = <usize>load<u32>(r + R_TAIL);
    if (isDead(t)) {
      ringDropTail(seg, r);
      continue;
    }
    const h = entryHash(seg, t, scratch);
    const s = tableSlotOf(seg, h, t);
    if (t == keep) {
      killEntry(seg, r, t, s); // being replaced: see clockMakeRoom
      ringDropTail(seg, r);
      continue;
    }
    if (slotFreq(s) >= S3_MOVE_FREQ && !isExpired(t, rel)) {
      const st = makeRoomMain(seg, slot, blockSize(t), true, 0, rel);
      if (st != OK) return st;
      moveTailAcross(seg, r, ring0(seg), t, s);
      continue;
    }
    if (!evictEntry(seg, slot, r, t, s, rel)) return E_LOG_FULL;
    ringDropTail(seg, r);
    store<u16>(ghostSlot(seg, h), fingerprint(h));
  }
  return OK;
}
