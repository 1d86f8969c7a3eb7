// The segment snapshot `stats` writes to the caller's I/O area (abi.ts ST_*, docs/ABI.md section 9).

import {
  H_SEGMENTS, H_THREADS, C_HITS, C_MISSES, POLICY_LRU, E_BAD_ARG, ST_ENTRIES, ST_BYTES_USED,
  ST_BUDGET, ST_REGION, ST_MAX_ENTRIES, ST_LOG_BYTES, ST_SMALL_ENTRIES, ST_SMALL_BYTES, ST_HITS,
  ST_MISSES, ST_SETS, ST_DELETES, ST_EVICTIONS, ST_EXPIRATIONS, ST_REJECTED, ST_MOVES,
  ST_RECOVERIES, ST_INDEX_EVICTIONS, ST_GHOST_HITS, ST_SWEEP_PASSES, STATS_SIZE,
} from './abi';
import {
  S_CAP, S_RING0, S_RING1, S_SETS, S_DELETES, S_EVICTIONS, S_EXPIRATIONS, S_REJECTED, S_MOVES,
  S_RECOVERIES, S_INDEX_EVICTIONS, S_GHOST_HITS, S_SWEEP_PASSES, R_SPAN, R_LIVE, R_COUNT, hdr32,
  segPtr, ioPtr, counterPtr, badSlot,
} from './layout';
import { lockSegment, unlockSegment } from './lock';
import { ringLen } from './ring';
import { policy, segCount, segUsed, lruBudget } from './segment';

/** Writes segment `segIndex`'s public snapshot (STATS_SIZE bytes, abi.ts ST_*) to the slot's io. */
export function writeStats(slot: u32, segIndex: u32): i32 {
  if (badSlot(slot)) return E_BAD_ARG;
  if (segIndex >= hdr32(H_SEGMENTS)) return E_BAD_ARG;
  const seg = segPtr(segIndex);
  const o = ioPtr(slot);
  lockSegment(seg, slot);
  const r0 = seg + S_RING0;
  const r1 = seg + S_RING1;
  store<u32>(o + <usize>ST_ENTRIES, segCount(seg));
  store<u32>(o + <usize>ST_BYTES_USED, segUsed(seg));
  store<u32>(o + <usize>ST_BUDGET, policy() == POLICY_LRU ? <u32>lruBudget(seg) : <u32>(ringLen(r0) + ringLen(r1)));
  store<u32>(o + <usize>ST_REGION, <u32>(ringLen(r0) + ringLen(r1)));
  store<u32>(o + <usize>ST_MAX_ENTRIES, load<u32>(seg + S_CAP));
  store<u32>(o + <usize>ST_LOG_BYTES, load<u32>(r0 + R_SPAN) + load<u32>(r1 + R_SPAN));
  store<u32>(o + <usize>ST_SMALL_ENTRIES, load<u32>(r1 + R_COUNT));
  store<u32>(o + <usize>ST_SMALL_BYTES, load<u32>(r1 + R_LIVE));
  let hits: u64 = 0;
  let misses: u64 = 0;
  const threads = hdr32(H_THREADS);
  for (let t: u32 = 0; t < threads; t++) {
    const c = counterPtr(t, segIndex);
    hits += load<u64>(c + <usize>C_HITS);
    misses += load<u64>(c + <usize>C_MISSES);
  }
  store<u64>(o + <usize>ST_HITS, hits);
  store<u64>(o + <usize>ST_MISSES, misses);
  store<u64>(o + <usize>ST_SETS, load<u64>(seg + S_SETS));
  store<u64>(o + <usize>ST_DELETES, load<u64>(seg + S_DELETES));
  store<u64>(o + <usize>ST_EVICTIONS, load<u64>(seg + S_EVICTIONS));
  store<u64>(o + <usize>ST_EXPIRATIONS, load<u64>(seg + S_EXPIRATIONS));
  store<u64>(o + <usize>ST_REJECTED, load<u64>(seg + S_REJECTED));
  store<u64>(o + <usize>ST_MOVES, load<u64>(seg + S_MOVES));
  store<u64>(o + <usize>ST_RECOVERIES, load<u64>(seg + S_RECOVERIES));
  store<u64>(o + <usize>ST_INDEX_EVICTIONS, load<u64>(seg + S_INDEX_EVICTIONS));
  store<u64>(o + <usize>ST_GHOST_HITS, load<u64>(seg + S_GHOST_HITS));
  store<u64>(o + <usize>ST_SWEEP_PASSES, load<u64>(seg + S_SWEEP_PASSES));
  unlockSegment(seg);
  return <i32>STATS_SIZE;
}

