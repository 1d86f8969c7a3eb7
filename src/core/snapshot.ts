/**
 * Reading the segment snapshots `stats(slot, seg)` copies into the I/O area (docs/ABI.md section 5),
 * and summing them into the cache's stats.
 */
import { SegmentField } from './abi.js';
import type { IoArea } from './io-area.js';
import type { CacheStats, SegmentStats } from './types.js';

/** The snapshot the core just copied to the start of `io`. */
export function readSegment(io: IoArea): SegmentStats {
  const at = io.start;
  const u32 = (field: number) => io.getU32(at + field);
  const u64 = (field: number) => io.getU64(at + field);
  return {
    entries: u32(SegmentField.COUNT),
    bytesUsed: u32(SegmentField.USED),
    budget: u32(SegmentField.BUDGET),
    freeBytes: u32(SegmentField.FREE_BYTES),
    freeBlocks: u32(SegmentField.FREE_COUNT),
    untouchedBytes: u32(SegmentField.END) - u32(SegmentField.TOP),
    hits: u64(SegmentField.HITS),
    misses: u64(SegmentField.MISSES),
    sets: u64(SegmentField.SETS),
    deletes: u64(SegmentField.DELETES),
    evictions: u64(SegmentField.EVICTIONS),
    expirations: u64(SegmentField.EXPIRATIONS),
    rejected: u64(SegmentField.REJECTED),
    compactions: u64(SegmentField.COMPACTIONS),
    recoveries: u64(SegmentField.RECOVERIES),
  };
}

/** The cache's stats from its segments' snapshots. */
export function summarize(segments: SegmentStats[], memoryBytes: number): CacheStats {
  const total: SegmentStats = {
    entries: 0, bytesUsed: 0, budget: 0, freeBytes: 0, freeBlocks: 0, untouchedBytes: 0, hits: 0, misses: 0,
    sets: 0, deletes: 0, evictions: 0, expirations: 0, rejected: 0, compactions: 0, recoveries: 0,
  };
  const fields = Object.keys(total) as (keyof SegmentStats)[];
  for (const s of segments) for (const k of fields) total[k] += s[k];
  const reads = total.hits + total.misses;
  const allocated = total.freeBytes + total.bytesUsed;
  return {
    ...total,
    segments,
    memoryBytes,
    hitRatio: reads === 0 ? 0 : total.hits / reads,
    fragmentation: allocated === 0 ? 0 : total.freeBytes / allocated,
  };
}
