// Thread slots: each thread attached to an arena owns one slot (its I/O area, eviction log,
// scratch space and counters). A slot's state and tag form one 64-bit word updated by a single
// compare-and-swap, so a release can never match a half-claimed slot.

import {
  H_THREADS, H_SEGMENTS, H_LOG_BYTES, SL_STATE, SL_FLAGS, SLOT_FREE, SLOT_LIVE, SLOT_DEAD,
  OK, NOT_FOUND, E_BAD_ARG, E_NOT_READY, E_NO_SLOT,
} from './abi';
import { hdr32, slotPtr, logPtr, segPtr } from './layout';
import { recoverLocksOf } from './lock';

/** Claims the lowest free slot; E_NOT_READY without an arena, E_NO_SLOT when all are live. */
export function claimSlot(tag: u32, flags: u32, ready: bool): i32 {
  if (!ready) return E_NOT_READY;
  const n = hdr32(H_THREADS);
  const live = <i64>SLOT_LIVE | (<i64>tag << 32);
  for (let s: u32 = 0; s < n; s++) {
    const p = slotPtr(s);
    let claimed = false;
    if (ASC_FEATURE_THREADS) {
      const cur = atomic.load<i64>(p + <usize>SL_STATE);
      claimed = <i32>cur == SLOT_FREE && atomic.cmpxchg<i64>(p + <usize>SL_STATE, cur, live) == cur;
    } else if (load<i32>(p + <usize>SL_STATE) == SLOT_FREE) {
      store<i64>(p + <usize>SL_STATE, live);
      claimed = true;
    }
    if (claimed) {
      store<u32>(p + <usize>SL_FLAGS, flags);
      if (hdr32(H_LOG_BYTES) != 0) {
        const log = logPtr(s);
        store<u32>(log, 0);
        store<u32>(log + 4, 0);
      }
      return <i32>s;
    }
  }
  return E_NO_SLOT;
}

export function freeSlot(slot: u32): i32 {
  if (slot >= hdr32(H_THREADS)) return E_BAD_ARG;
  if (ASC_FEATURE_THREADS) atomic.store<i32>(slotPtr(slot) + <usize>SL_STATE, SLOT_FREE);
  else store<i32>(slotPtr(slot) + <usize>SL_STATE, SLOT_FREE);
  return OK;
}

/**
 * The thread attached to `slot` with `tag` died: marks the slot dead, recovers every segment
 * whose lock it held, frees the slot. Returns the number of segments recovered, or NOT_FOUND.
 */
export function releaseSlot(slot: u32, tag: u32, by: u32): i32 {
  if (slot >= hdr32(H_THREADS)) return E_BAD_ARG;
  const p = slotPtr(slot);
  const live = <i64>SLOT_LIVE | (<i64>tag << 32);
  const dead = <i64>SLOT_DEAD | (<i64>tag << 32);
  if (ASC_FEATURE_THREADS) {
    if (atomic.cmpxchg<i64>(p + <usize>SL_STATE, live, dead) != live) return NOT_FOUND;
  } else {
    if (load<i64>(p + <usize>SL_STATE) != live) return NOT_FOUND;
    store<i64>(p + <usize>SL_STATE, dead);
  }
  let recovered = 0;
  const segments = hdr32(H_SEGMENTS);
  for (let i: u32 = 0; i < segments; i++) recovered += recoverLocksOf(segPtr(i), slot, by);
  freeSlot(slot);
  return recovered;
}
