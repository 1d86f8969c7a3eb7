/**
 * Reading the segment snapshots `stats(slot, seg)` writes to the I/O area (docs/ABI.md section 9),
 * and summing them into the cache's stats.
 */
import { Stats, type PolicyName } from './abi.js';
import type { IoArea } from './io-area.js';
import type { CacheStats, SegmentStats } from './types.js';

const U32_FIELDS = {
  entries: Stats.ENTRIES, bytesUsed: Stats.BYTES_USED, budget: Stats.BUDGET, region: Stats.REGION,
  maxEntries: Stats.MAX_ENTRIES, logBytes: Stats.LOG_BYTES, smallEntries: Stats.SMALL_ENTRIES, smallBytes: Stats.SMALL_BYTES,
} as const;
const U64_FIELDS = {
  hits: Stats.HITS, misses: Stats.MISSES, sets: Stats.SETS, deletes: Stats.DELETES, evictions: Stats.EVICTIONS,
  expirations: Stats.EXPIRATIONS, rejected: Stats.REJECTED, moves: Stats.MOVES, recoveries: Stats.RECOVERIES,
  indexEvictions: Stats.INDEX_EVICTIONS, ghostHits: Stats.GHOST_HITS, sweepPasses: Stats.SWEEP_PASSES,
} as const;
const FIELDS = [...Object.keys(U32_FIELDS), ...Object.keys(U64_FIELDS)] as (keyof SegmentStats)[];

/** The snapshot the core just wrote to the start of `io`. */
export function readSegment(io: IoArea): SegmentStats {
  const at = io.start;
  const s = {} as SegmentStats;
  for (const [k, off] of Object.entries(U32_FIELDS)) s[k as keyof SegmentStats] = io.getU32(at + off);
  for (const [k, off] of Object.entries(U64_FIELDS)) s[k as keyof SegmentStats] = io.getU64(at + off);
  return s;
}

/** The cache's stats from its segments' snapshots. */
export function summarize(segments: SegmentStats[], memoryBytes: number, policy: PolicyName): CacheStats {
  const total = Object.fromEntries(FIELDS.map((k) => [k, 0])) as unknown as SegmentStats;
  for (const s of segments) for (const k of FIELDS) total[k] += s[k];
  const reads = total.hits + total.misses;
  return {
    ...total,
    segments,
    policy,
    memoryBytes,
    hitRatio: reads === 0 ? 0 : total.hits / reads,
    fragmentation: total.logBytes === 0 ? 0 : (total.logBytes - total.bytesUsed) / total.logBytes,
  };
}
