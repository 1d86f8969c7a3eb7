// The reference model's view of a live ArenaCache: its arena's header, read through the cache's
// internals (tests only), plus what the test chose (seed, clock, log).
import { Header } from '../../../src/core/abi.js';
import * as abi from '../../../src/core/abi.generated.js';
import type { ArenaCache } from '../../../src/core/index.js';
import type { ArenaShape } from './arena-model.js';
import type { HostShape } from '../model.js';
import type { EvictReason } from '../../../src/core/types.js';

interface Internals {
  arena: { field(offset: number): number; memory: WebAssembly.Memory; header: number };
  io: { size: number };
}

export function coreShapeOf(
  cache: ArenaCache,
  opts: { seed: readonly number[]; epoch: number; defaultTtl: number; logs: boolean; removals: boolean },
): ArenaShape {
  const { arena } = cache as unknown as Internals;
  const f = (o: number) => arena.field(o);
  return {
    policy: f(Header.POLICY),
    segments: f(Header.SEGMENTS),
    entryHeader: f(Header.ENTRY_HEADER),
    region: f(Header.REGION),
    small: f(Header.SMALL_BYTES),
    segEntries: f(Header.SEG_ENTRIES),
    ghostSlots: f(abi.H_GHOST_SLOTS),
    maxKey: f(Header.MAX_KEY),
    maxValue: f(Header.MAX_VALUE),
    seed: opts.seed,
    epoch: opts.epoch,
    defaultTtl: opts.defaultTtl,
    logMode: opts.logs ? abi.LOG_KEYS_AND_VALUES : abi.LOG_OFF,
    logRemovals: opts.removals,
  };
}

export function hostShapeOf(cache: ArenaCache, logs: boolean, disposeReasons: readonly EvictReason[]): HostShape {
  const { arena, io } = cache as unknown as Internals;
  return {
    policy: cache.policy,
    maxValue: cache.maxValueBytes,
    entryLimit: cache.entryLimit,
    ioBytes: io.size,
    logCapacity: logs ? arena.field(Header.LOG_BYTES) - abi.LOG_HEADER : null,
    disposeReasons: new Set(disposeReasons),
  };
}
