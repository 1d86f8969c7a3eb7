// The incremental TTL sweep: walks a segment's blocks from its cursor toward the newest, a bounded
// number per call, removing expired entries. One call never goes past the end of a pass (the
// newest block of the last ring), so a host finds out that a pass is complete (SW_PASS_DONE) and
// can restart one from the oldest block (SWEEP_RESTART) to purge everything expired.

import { POLICY_S3FIFO, REASON_EXPIRE, SW_REMOVED, SW_EXAMINED, SW_PASS_DONE } from './abi';
import { S_CURSOR, S_EXPIRATIONS, S_SWEEP_PASSES, R_HEAD, R_TAIL, bump64, scratchOf } from './layout';
import { blockSize, ringOf, ringNext } from './ring';
import { isDead, isExpired } from './entry';
import { logRemoval } from './evict-log';
import { policy, ring0, ring1, slotOfEntry, killEntry } from './segment';

/**
 * Examines at most `maxSteps` blocks. Writes [removed, examined, passDone] to `out` and returns
 * the number removed. Stops early, keeping its place, when the eviction log is full.
 */
export function segSweep(seg: usize, slot: u32, maxSteps: u32, rel: f64, restart: bool, out: usize): i32 {
  const first = policy() == POLICY_S3FIFO ? ring1(seg) : ring0(seg);
  let pos = <usize>load<u32>(seg + S_CURSOR);
  let r: usize = pos == 0 || restart ? 0 : ringOf(seg, pos);
  if (r == 0) {
    r = first;
    pos = <usize>load<u32>(r + R_TAIL);
  }
  let removed: u32 = 0;
  let examined: u32 = 0;
  let passDone: u32 = 0;
  while (examined < maxSteps) {
    if (pos == <usize>load<u32>(r + R_HEAD)) {
      if (r != ring0(seg)) {
        r = ring0(seg);
        pos = <usize>load<u32>(r + R_TAIL);
        continue;
      }
      passDone = 1;
      bump64(seg + S_SWEEP_PASSES);
      pos = 0;
      break;
    }
    const next = ringNext(r, pos, blockSize(pos));
    if (!isDead(pos) && isExpired(pos, rel)) {
      if (!logRemoval(slot, seg, pos, REASON_EXPIRE)) break;
      killEntry(seg, r, pos, slotOfEntry(seg, pos, scratchOf(slot)));
      bump64(seg + S_EXPIRATIONS);
      removed++;
    }
    pos = next;
    examined++;
  }
  store<u32>(seg + S_CURSOR, <u32>pos);
  store<u32>(out + <usize>SW_REMOVED, removed);
  store<u32>(out + <usize>SW_EXAMINED, examined);
  store<u32>(out + <usize>SW_PASS_DONE, passDone);
  return <i32>removed;
}
