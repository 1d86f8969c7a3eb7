// Per-segment locks. In the shared build (threads enabled) a lock word is a futex-style mutex
// whose value names its owner: 0 = free, else (slot + 1) << 1, with bit 0 set when others may be
// waiting. The owner id lets a thread that died holding a lock be detected and its segment
// recovered. The non-shared build compiles every function here to nothing.

import {
  S_LOCK, SL_STATE, SL_FLAGS, SLOT_DEAD, FLAG_CAN_WAIT, H_THREADS, hdr32, slotPtr,
} from './layout';
import { resetSegment } from './segment';

const SPINS: i32 = 64;
const WAIT_NS: i64 = 20_000_000; // 20 ms: how often a blocked thread re-checks its owner's liveness
// The lock word while a dead owner's segment is being recovered: an owner id no slot can have.
const RECOVERING: i32 = 0x7ffffffe;

// @ts-ignore: decorator
@inline function ownerWord(slot: u32): i32 {
  return <i32>((slot + 1) << 1);
}

export function lockSegment(seg: usize, slot: u32): void {
  if (!ASC_FEATURE_THREADS) return;
  const me = ownerWord(slot);
  const addr = seg + S_LOCK;
  for (let i = 0; i < SPINS; i++) {
    if (atomic.cmpxchg<i32>(addr, 0, me) == 0) return;
  }
  const canWait = (atomic.load<u32>(slotPtr(slot) + SL_FLAGS) & FLAG_CAN_WAIT) != 0;
  while (true) {
    const cur = atomic.load<i32>(addr);
    if (cur == 0) {
      // Take it marked "contended": others may still be sleeping on the word.
      if (atomic.cmpxchg<i32>(addr, 0, me | 1) == 0) return;
      continue;
    }
    if ((cur & 1) == 0 && atomic.cmpxchg<i32>(addr, cur, cur | 1) != cur) continue;
    const owner = <u32>((cur >> 1) - 1);
    if (owner < hdr32(H_THREADS) && atomic.load<i32>(slotPtr(owner) + SL_STATE) == SLOT_DEAD) {
      // The owner died inside a call: its segment may be half-updated. Take the lock over and
      // reset the segment; the lost entries are counted as a recovery.
      if (atomic.cmpxchg<i32>(addr, cur | 1, me | 1) == cur | 1) {
        resetSegment(seg, true);
        return;
      }
      continue;
    }
    if (canWait) {
      atomic.wait<i32>(addr, cur | 1, WAIT_NS);
    } else {
      // A browser main thread may not block: spin.
      for (let i = 0; i < SPINS; i++) {
        if (atomic.load<i32>(addr) != (cur | 1)) break;
      }
    }
  }
}

export function unlockSegment(seg: usize): void {
  if (!ASC_FEATURE_THREADS) return;
  const prev = atomic.xchg<i32>(seg + S_LOCK, 0);
  if ((prev & 1) != 0) atomic.notify(seg + S_LOCK, 1);
}

/**
 * Frees locks held by a dead slot: resets each segment it held and releases the lock. Returns the
 * number of segments recovered.
 */
export function recoverLocksOf(seg: usize, slot: u32): i32 {
  if (!ASC_FEATURE_THREADS) return 0;
  const addr = seg + S_LOCK;
  const cur = atomic.load<i32>(addr);
  if (cur == 0 || (cur >> 1) != <i32>(slot + 1)) return 0;
  // Keep the waiters bit: whoever sleeps on the word must be woken by our unlock.
  if (atomic.cmpxchg<i32>(addr, cur, (cur & 1) | RECOVERING) != cur) return 0;
  resetSegment(seg, true);
  const prev = atomic.xchg<i32>(addr, 0);
  if ((prev & 1) != 0) atomic.notify(addr, -1);
  return 1;
}
