// Per-segment locks. In the shared build (threads enabled) a lock word is a futex-style mutex
// whose value names its owner: 0 = free, else (slot + 1) << 1, with bit 0 set when others may be
// waiting. The owner id lets a thread that died holding a lock be detected and its segment
// recovered. The non-shared build compiles every function here to nothing.
//
// Every holder of the lock also brackets its work with the segment's sequence word (odd while
// the segment may be changing), so that readers that take no lock (read.ts) can tell whether
// what they read was consistent.
//
// Protocol (docs/threads.md):
//   lock:   CAS 0 -> me (SPINS tries); then loop: if free, CAS 0 -> me|1 ("contended": we may
//           not be the only waiter, so our unlock must notify); else set the waiters bit and
//           atomic.wait on the word (WAIT_NS at most, then re-check the owner's liveness).
//           A thread that may not block (browser main thread) spins on loads instead.
//   unlock: XCHG 0; notify one waiter if the waiters bit was set. A woken waiter re-takes the
//           lock with the bit set, so the remaining waiters are woken in turn.
//   death:  the host marks a dead thread's slot DEAD (release_slot); a waiter whose owner is
//           DEAD, or the releasing thread itself, takes the lock over by CAS (only one wins) and
//           resets the segment: its state may be half-updated. Whoever takes over writes its own
//           owner id first, so if it dies during the reset, it is recoverable in turn.

import { SL_STATE, SL_FLAGS, SLOT_DEAD, FLAG_CAN_WAIT, H_THREADS } from './abi';
import { S_LOCK, S_SEQ, hdr32, slotPtr, scratchOf, fenceAt } from './layout';
import { resetSegment } from './segment';

const SPINS: i32 = 64;
const WAIT_NS: i64 = 20_000_000; // 20 ms: how often a blocked thread re-checks its owner's liveness
// The lock word while a dead owner's segment is being recovered by a releaser that has no slot of
// its own (e.g. a watchdog thread): an owner id no slot can have.
const RECOVERING: i32 = 0x7ffffffe;

// @ts-ignore: decorator
@inline function ownerWord(slot: u32): i32 {
  return <i32>((slot + 1) << 1);
}

export function lockSegment(seg: usize, slot: u32): void {
  if (!ASC_FEATURE_THREADS) return;
  acquire(seg, slot);
  seqBegin(seg, slot);
}

function acquire(seg: usize, slot: u32): void {
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
    // The owner died inside a call (DEAD: its slot is being released), or this very thread left
    // a call abnormally while holding the lock (a trap such as a stack overflow unwinds through
    // wasm without unlocking). Either way the segment may be half-updated: take the lock over
    // and reset the segment; the lost entries are counted as a recovery.
    if (owner == slot || (owner < hdr32(H_THREADS) && atomic.load<i32>(slotPtr(owner) + SL_STATE) == SLOT_DEAD)) {
      if (atomic.cmpxchg<i32>(addr, cur | 1, me | 1) == (cur | 1)) {
        recoverSegment(seg, scratchOf(slot));
        return;
      }
      continue;
    }
    if (canWait) {
      atomic.wait<i32>(addr, cur | 1, WAIT_NS);
    } else {
      // A browser main thread may not block: spin (re-checking liveness now and then).
      for (let i = 0; i < 4096; i++) {
        if (atomic.load<i32>(addr) != (cur | 1)) break;
      }
    }
  }
}

export function unlockSegment(seg: usize): void {
  if (!ASC_FEATURE_THREADS) return;
  seqEnd(seg);
  const prev = atomic.xchg<i32>(seg + S_LOCK, 0);
  if ((prev & 1) != 0) atomic.notify(seg + S_LOCK, 1);
}

/**
 * Frees the lock of `seg` if dead slot `slot` holds it: resets the segment and releases the lock.
 * `by` is the releasing thread's slot (its id marks the lock during the reset), or any value
 * >= the slot count for a releaser without a slot. Returns 1 if the segment was recovered.
 */
export function recoverLocksOf(seg: usize, slot: u32, by: u32): i32 {
  if (!ASC_FEATURE_THREADS) return 0;
  const addr = seg + S_LOCK;
  const cur = atomic.load<i32>(addr);
  if (cur == 0 || (cur >> 1) != <i32>(slot + 1)) return 0;
  const mark = by < hdr32(H_THREADS) && by != slot ? ownerWord(by) : RECOVERING;
  // Keep the waiters bit: whoever sleeps on the word must be woken by our unlock.
  if (atomic.cmpxchg<i32>(addr, cur, (cur & 1) | mark) != cur) return 0;
  recoverSegment(seg, seg + S_SEQ);
  const prev = atomic.xchg<i32>(addr, 0);
  if ((prev & 1) != 0) atomic.notify(addr, -1);
  return 1;
}

// @ts-ignore: decorator
@inline function seqBegin(seg: usize, slot: u32): void {
  atomic.add<u32>(seg + S_SEQ, 1);
  // The odd value must be visible before any change it announces.
  fenceAt(scratchOf(slot));
}

// @ts-ignore: decorator
@inline function seqEnd(seg: usize): void {
  atomic.add<u32>(seg + S_SEQ, 1);
}

/**
 * Resets a segment whose lock holder died (its state may be half-updated). The sequence word is
 * odd during the reset (whatever the dead holder left) and even after it.
 */
function recoverSegment(seg: usize, fenceWord: usize): void {
  if ((atomic.load<u32>(seg + S_SEQ) & 1) == 0) atomic.add<u32>(seg + S_SEQ, 1);
  fenceAt(fenceWord);
  resetSegment(seg, true);
  atomic.add<u32>(seg + S_SEQ, 1);
}
