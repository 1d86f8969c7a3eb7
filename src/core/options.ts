/**
 * The options of ArenaCache.create / createShared / attach: their defaults and their rules, each
 * written once. Resolving checks every option before anything is compiled or allocated.
 */
import { MAX_KEY_LIMIT, MAX_SEGMENTS, MAX_THREADS, MIN_SEGMENT_STORAGE, MIN_SEG_ENTRIES, MIN_SEG_ENTRIES_S3FIFO, POLICY_NAMES, U32_MAX, type PolicyName } from './abi.js';
import { checkInteger, checkOptionalBoolean, checkOptionalFunction, checkTtl, describe } from './validate.js';
import type { OnEvict } from './evict-log.js';
import type { ArenaCacheOptions, EvictReason, FetchMethod } from './types.js';

export const DEFAULT_SEGMENTS = 16;
/** With maxEntries and no segments: fewer segments while a segment would hold fewer entries than this. */
const MIN_AUTO_SEGMENT_ENTRIES = 64;
export const DEFAULT_MAX_KEY_BYTES = 1024;
// The I/O area holds a key plus a value, so this default also sets its size: 1 MiB is ~1 B per
// entry at a million entries, where 8 MiB would add 8.
export const DEFAULT_MAX_VALUE_BYTES = 1024 * 1024;
export const DEFAULT_SWEEP_INTERVAL_MS = 1000;
/** The eviction policy when none is given: docs/design.md says why. */
export const DEFAULT_POLICY: PolicyName = 's3fifo';
/** The reasons onEvict hears by default (lru-cache's dispose also hears 'delete' and 'set'). */
export const DEFAULT_DISPOSE_REASONS: readonly EvictReason[] = ['evict', 'expire'];
const ALL_REASONS: readonly EvictReason[] = ['evict', 'expire', 'delete', 'set'];
export const DEFAULT_THREADS = 16;
/** wasm32 addresses 4 GiB; leave room for the header, slots and I/O areas. */
export const MAX_ARENA_BYTES = 0xf000_0000;
/** setInterval's limit. */
const MAX_INTERVAL_MS = 2 ** 31 - 1;
/** The tag of a thread attached without one: `releaseThread` never matches it. */
export const NO_TAG = 0xffff_ffff;

/** What `init` needs: the arena's layout. */
export interface Layout {
  maxBytes: number;
  segments: number;
  maxKeyBytes: number;
  maxValueBytes: number;
  ttl: number;
  /** Whether every thread slot gets an eviction log. */
  logs: boolean;
  policy: PolicyName;
  /** 0: the core's default (one entry per 64 bytes). */
  maxEntries: number;
  /** The 128-bit hash key as four u32 words. */
  seed: readonly [number, number, number, number];
  prefault: boolean;
}

/** What one thread's cache needs besides its arena. */
export interface HostConfig {
  clock: () => number;
  onEvict: OnEvict | undefined;
  sweepIntervalMs: number;
  /** The reasons delivered to onEvict. */
  disposeReasons: ReadonlySet<EvictReason>;
}

export function resolveLayout(options: ArenaCacheOptions, logs: boolean): Layout {
  const policy = options.policy ?? DEFAULT_POLICY;
  if (!POLICY_NAMES.includes(policy as PolicyName)) {
    throw new RangeError(`policy must be one of ${POLICY_NAMES.join(', ')}, got ${describe(policy)}`);
  }
  const maxEntries = options.maxEntries === undefined ? 0 : checkInteger('maxEntries', options.maxEntries, 1, U32_MAX);
  const segments = checkInteger('segments', options.segments ?? autoSegments(maxEntries), 1, MAX_SEGMENTS);
  if ((segments & (segments - 1)) !== 0) throw new RangeError(`segments must be a power of two, got ${segments}`);
  // maxEntries is a bound, split evenly: each segment holds floor(maxEntries / segments).
  const perSegment = policy === 's3fifo' ? MIN_SEG_ENTRIES_S3FIFO : MIN_SEG_ENTRIES;
  if (maxEntries !== 0 && Math.floor(maxEntries / segments) < perSegment) {
    throw new RangeError(`maxEntries must be at least ${perSegment * segments} with ${segments} segment(s) and policy ${policy}, got ${maxEntries}`);
  }
  checkOptionalBoolean('prefault', options.prefault);
  return {
    segments,
    maxBytes: checkInteger('maxBytes', options.maxBytes, segments * MIN_SEGMENT_STORAGE, MAX_ARENA_BYTES),
    maxKeyBytes: checkInteger('maxKeyBytes', options.maxKeyBytes ?? DEFAULT_MAX_KEY_BYTES, 1, MAX_KEY_LIMIT),
    maxValueBytes: checkInteger('maxValueBytes', options.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES, 0, MAX_ARENA_BYTES),
    ttl: checkTtl('ttl', options.ttl ?? 0),
    logs,
    policy: policy as PolicyName,
    maxEntries,
    seed: resolveSeed(options.seed),
    prefault: options.prefault ?? false,
  };
}

/** Segments when none are given: the default, halved while a segment would hold too few entries. */
function autoSegments(maxEntries: number): number {
  let segments = DEFAULT_SEGMENTS;
  while (maxEntries !== 0 && segments > 1 && maxEntries / segments < MIN_AUTO_SEGMENT_ENTRIES) segments /= 2;
  return segments;
}

/**
 * The arena's hash key: 16 random bytes (crypto.getRandomValues) unless the caller fixes it, as
 * tests and reproducible embeddings do (a Uint8Array of 16 bytes, or 4 unsigned 32-bit words).
 */
export function resolveSeed(seed: unknown): [number, number, number, number] {
  if (seed === undefined) {
    const w = new Uint32Array(4);
    globalThis.crypto.getRandomValues(w);
    return [w[0], w[1], w[2], w[3]];
  }
  if (seed instanceof Uint8Array) {
    if (seed.length !== 16) throw new RangeError(`seed must be 16 bytes, got ${seed.length}`);
    const dv = new DataView(seed.buffer, seed.byteOffset, 16);
    return [dv.getUint32(0, true), dv.getUint32(4, true), dv.getUint32(8, true), dv.getUint32(12, true)];
  }
  if (Array.isArray(seed) && seed.length === 4) {
    return seed.map((w, i) => checkInteger(`seed[${i}]`, w, 0, U32_MAX)) as [number, number, number, number];
  }
  throw new TypeError(`seed must be a Uint8Array of 16 bytes or 4 unsigned 32-bit integers, got ${describe(seed)}`);
}

export function resolveHost(
  options: Pick<ArenaCacheOptions, 'onEvict' | 'clock' | 'sweepIntervalMs' | 'disposeReasons'>,
  defaultSweepIntervalMs: number,
): HostConfig {
  checkOptionalFunction('onEvict', options.onEvict);
  checkOptionalFunction('clock', options.clock);
  return {
    clock: options.clock ?? Date.now,
    onEvict: options.onEvict,
    sweepIntervalMs: checkInteger('sweepIntervalMs', options.sweepIntervalMs ?? defaultSweepIntervalMs, 0, MAX_INTERVAL_MS),
    disposeReasons: resolveReasons(options.disposeReasons),
  };
}

function resolveReasons(reasons: unknown): ReadonlySet<EvictReason> {
  if (reasons === undefined) return new Set(DEFAULT_DISPOSE_REASONS);
  if (!Array.isArray(reasons)) throw new TypeError(`disposeReasons must be an array of reasons, got ${describe(reasons)}`);
  for (const r of reasons) {
    if (!ALL_REASONS.includes(r as EvictReason)) throw new RangeError(`disposeReasons: unknown reason ${describe(r)}; reasons are ${ALL_REASONS.join(', ')}`);
  }
  return new Set(reasons as EvictReason[]);
}

/** Whether these reasons need the core to log deletes and replaced values. */
export function wantsRemovals(reasons: ReadonlySet<EvictReason>): boolean {
  return reasons.has('delete') || reasons.has('set');
}

export function resolveThreads(threads: unknown): number {
  return checkInteger('threads', threads ?? DEFAULT_THREADS, 1, MAX_THREADS);
}

/** A thread's tag: 0 to 2^32 - 2 (NO_TAG when absent). */
export function resolveTag(tag: unknown): number {
  return tag === undefined ? NO_TAG : checkInteger('tag', tag, 0, NO_TAG - 1);
}

export function resolveCanBlock(canBlock: unknown): boolean | undefined {
  checkOptionalBoolean('canBlock', canBlock);
  return canBlock as boolean | undefined;
}


/** What `fetch` needs from the options (read-through.ts). */
export interface ReadThroughOptions {
  fetchMethod: FetchMethod;
  staleWindow: number;
  allowStale: boolean;
}

/** fetchMethod, staleWindow and allowStale: undefined when there is no fetchMethod. */
export function resolveReadThrough(options: Pick<ArenaCacheOptions, 'fetchMethod' | 'staleWindow' | 'allowStale'>): ReadThroughOptions | undefined {
  checkOptionalFunction('fetchMethod', options.fetchMethod);
  const staleWindow = checkTtl('staleWindow', options.staleWindow ?? 0);
  checkOptionalBoolean('allowStale', options.allowStale);
  if (options.fetchMethod === undefined) {
    if (options.staleWindow !== undefined || options.allowStale !== undefined) {
      throw new TypeError('staleWindow and allowStale are options of fetch: they need fetchMethod');
    }
    return undefined;
  }
  return { fetchMethod: options.fetchMethod, staleWindow, allowStale: options.allowStale ?? false };
}
