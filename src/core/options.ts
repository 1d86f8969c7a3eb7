/**
 * The options of ArenaCache.create / createShared / attach: their defaults and their rules, each
 * written once. Resolving checks every option before anything is compiled or allocated.
 */
import { MAX_KEY_LIMIT, MAX_SEGMENTS, MAX_THREADS, MIN_SEGMENT_SHARE } from './abi.js';
import { checkInteger, checkOptionalBoolean, checkOptionalFunction, checkTtl } from './validate.js';
import type { OnEvict } from './evict-log.js';
import type { ArenaCacheOptions } from './types.js';

export const DEFAULT_SEGMENTS = 16;
export const DEFAULT_MAX_KEY_BYTES = 1024;
// The I/O area holds a key plus a value, so this default also sets its size: 1 MiB is ~1 B per
// entry at a million entries, where 8 MiB would add 8.
export const DEFAULT_MAX_VALUE_BYTES = 1024 * 1024;
export const DEFAULT_SWEEP_INTERVAL_MS = 1000;
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
}

/** What one thread's cache needs besides its arena. */
export interface HostConfig {
  clock: () => number;
  onEvict: OnEvict | undefined;
  sweepIntervalMs: number;
}

export function resolveLayout(options: ArenaCacheOptions, logs: boolean): Layout {
  const segments = checkInteger('segments', options.segments ?? DEFAULT_SEGMENTS, 1, MAX_SEGMENTS);
  if ((segments & (segments - 1)) !== 0) throw new RangeError(`segments must be a power of two, got ${segments}`);
  return {
    segments,
    maxBytes: checkInteger('maxBytes', options.maxBytes, segments * MIN_SEGMENT_SHARE, MAX_ARENA_BYTES),
    maxKeyBytes: checkInteger('maxKeyBytes', options.maxKeyBytes ?? DEFAULT_MAX_KEY_BYTES, 1, MAX_KEY_LIMIT),
    maxValueBytes: checkInteger('maxValueBytes', options.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES, 0, MAX_ARENA_BYTES),
    ttl: checkTtl('ttl', options.ttl ?? 0),
    logs,
  };
}

export function resolveHost(
  options: Pick<ArenaCacheOptions, 'onEvict' | 'clock' | 'sweepIntervalMs'>,
  defaultSweepIntervalMs: number,
): HostConfig {
  checkOptionalFunction('onEvict', options.onEvict);
  checkOptionalFunction('clock', options.clock);
  return {
    clock: options.clock ?? Date.now,
    onEvict: options.onEvict,
    sweepIntervalMs: checkInteger('sweepIntervalMs', options.sweepIntervalMs ?? defaultSweepIntervalMs, 0, MAX_INTERVAL_MS),
  };
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

