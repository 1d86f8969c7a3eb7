// The arenacache core ABI (docs/ABI.md): the exported functions, nothing else. Every export that
// takes the caller's thread slot checks it; keys and values travel through that slot's I/O area.
// No export keeps state outside linear memory.

import {
  MAGIC, ABI_VERSION, H_MAGIC, H_ABI, H_STATE, H_SEGMENTS, H_IO_BYTES, HEADER_SIZE, SWEEP_RESTART,
  OK, NOT_FOUND, E_KEY_TOO_LONG, E_BAD_ARG, E_LOG_FULL, E_NO_MEMORY, STATS_SIZE,
} from './abi';
import {
  headerPtr, hdr32, segPtr, slotPtr, ioPtr, logPtr, scratchOf, badSlot,
} from './layout';
import { segmentHash } from './hash';
import { lockSegment, unlockSegment } from './lock';
import { claimSlot, freeSlot, releaseSlot } from './slots';
import { relTime } from './entry';
import { policy, resetSegment, segCount, segUsed } from './segment';
import { segSweep } from './sweep';
import { segCheck } from './check';
import { segScan } from './scan';
import { arenaSize, initArena } from './arena';
import {
  keyOp, setKey, infoKey, OP_GET, OP_PEEK, OP_HAS, OP_REMOVE, OP_REF,
} from './keyops';
import { getMany, setMany } from './batch';
import { writeStats } from './stats';

export function abi_version(): u32 {
  return ABI_VERSION;
}

/** Offset of the arena header in linear memory. */
export function header(): usize {
  return headerPtr();
}

/**
 * Where an arena with these arguments would end (the memory needed is ceil(END / 65536) pages),
 * or E_BAD_ARG. Touches nothing: a host sizes a shared memory's maximum with it before init.
 */
export function arena_size(
  maxBytes: u32, segments: u32, threads: u32, maxKey: u32, maxValue: u32, maxEntries: u32, pol: u32, flags: u32,
): f64 {
  return arenaSize(maxBytes, segments, threads, maxKey, maxValue, maxEntries, pol, flags);
}

/**
 * Lays out a new arena in this memory and claims thread slot 0 for the caller (flags 0). Returns
 * the header offset (> 0), E_BAD_ARG (an argument, or the memory already holds an arena) or
 * E_NO_MEMORY. A failed init changes nothing, so it may be retried with other arguments.
 */
export function init(
  maxBytes: u32, segments: u32, threads: u32, maxKey: u32, maxValue: u32, maxEntries: u32, pol: u32,
  flags: u32, defaultTtl: f64, now: f64, seed0: u32, seed1: u32, seed2: u32, seed3: u32,
): i32 {
  return initArena(maxBytes, segments, threads, maxKey, maxValue, maxEntries, pol, flags, defaultTtl, now, seed0, seed1, seed2, seed3);
}

/** True once an arena is laid out in this memory with this ABI version. */
export function ready(): bool {
  const H = headerPtr();
  if (<usize>memory.size() << 16 < H + <usize>HEADER_SIZE) return false;
  return load<u32>(H + <usize>H_MAGIC) == MAGIC && load<u32>(H + <usize>H_ABI) == ABI_VERSION &&
    (ASC_FEATURE_THREADS ? atomic.load<u32>(H + <usize>H_STATE) : load<u32>(H + <usize>H_STATE)) == 2;
}

/** Claims a free thread slot (for a thread attaching to a shared arena). */
export function attach(tag: u32, flags: u32): i32 {
  return claimSlot(tag, flags, ready());
}

/** The slot's thread is done with the arena (it holds no lock between calls). */
export function detach(slot: u32): i32 {
  return freeSlot(slot);
}

/** The thread attached to `slot` with `tag` died: recover what it held and free the slot. */
export function release_slot(slot: u32, tag: u32, by: u32): i32 {
  return releaseSlot(slot, tag, by);
}

/** bit 0: may block; bits 1-2: eviction log mode; bit 3: log deletes and replaced values too. */
export function set_flags(slot: u32, flags: u32): void {
  if (badSlot(slot)) return;
  store<u32>(slotPtr(slot) + 8, flags);
}

export function io_ptr(slot: u32): usize {
  if (badSlot(slot)) return 0;
  return ioPtr(slot);
}

export function log_ptr(slot: u32): usize {
  if (badSlot(slot)) return 0;
  return logPtr(slot);
}

/** The segment hash (seeded FNV-1a) of the first `len` bytes of the slot's I/O area. */
export function hash(slot: u32, len: u32): u32 {
  if (badSlot(slot) || len > hdr32(H_IO_BYTES)) return 0;
  return segmentHash(ioPtr(slot), <usize>len);
}

/**
 * Sets key (io[0, klen)) to value (io[klen, klen + vlen)). ttl: ms, 0 = never, < 0 = default.
 * Returns OK, E_KEY_TOO_LONG, E_TOO_LARGE (refused and counted) or E_LOG_FULL (drain, repeat).
 */
export function set(slot: u32, klen: u32, vlen: u32, ttl: f64, now: f64): i32 {
  return setKey(slot, klen, vlen, ttl, now);
}

/** Looks up io[0, klen); on a hit copies the value to io[0, len), counts and records the access. */
export function get(slot: u32, klen: u32, now: f64): i32 {
  return keyOp(slot, klen, now, OP_GET);
}

/**
 * As get, but leaves the value where it is when it can: writes its offset to io[0] (u32) and
 * returns its length. The bytes stay valid until the slot's next call. The shared build, and a
 * value that wraps around its ring's end, copy it to io + 8 instead (and io[0] says so).
 */
export function get_ref(slot: u32, klen: u32, now: f64): i32 {
  return keyOp(slot, klen, now, OP_REF);
}

/** As get, without recording an access and without counting a hit or miss. */
export function peek(slot: u32, klen: u32, now: f64): i32 {
  return keyOp(slot, klen, now, OP_PEEK);
}

/** 1 if io[0, klen) is present and not expired, else 0. Neither records an access nor counts. */
export function has(slot: u32, klen: u32, now: f64): i32 {
  return keyOp(slot, klen, now, OP_HAS);
}

/** Deletes io[0, klen): 1 if a live entry was deleted, 0 if none, E_LOG_FULL (drain, repeat). */
export function remove(slot: u32, klen: u32, now: f64): i32 {
  return keyOp(slot, klen, now, OP_REMOVE);
}

/** Drops every entry, one segment at a time; counters are kept. */
export function clear(slot: u32): void {
  if (badSlot(slot)) return;
  const n = hdr32(H_SEGMENTS);
  for (let i: u32 = 0; i < n; i++) {
    const seg = segPtr(i);
    lockSegment(seg, slot);
    resetSegment(seg, false);
    unlockSegment(seg);
  }
}

/**
 * Incremental TTL sweep of one segment: examines at most `maxSteps` blocks under that segment's
 * lock, from its cursor (or from the oldest block with SWEEP_RESTART in `flags`), never past the
 * end of a pass. Returns the number expired; writes [removed, examined, passDone] to io.
 */
export function sweep(slot: u32, segIndex: u32, maxSteps: u32, now: f64, flags: u32): i32 {
  if (badSlot(slot)) return E_BAD_ARG;
  if (segIndex >= hdr32(H_SEGMENTS) || (flags & ~SWEEP_RESTART) != 0) return E_BAD_ARG;
  const seg = segPtr(segIndex);
  lockSegment(seg, slot);
  const r = segSweep(seg, slot, maxSteps, relTime(now), (flags & SWEEP_RESTART) != 0, ioPtr(slot));
  unlockSegment(seg);
  return r;
}

/**
 * Batch get. Input at io: n u32 key lengths; the keys back to back at io + keysOff. Output at
 * io + outOff: n i32 results (value length or NOT_FOUND), then the values back to back, starting
 * with key `start`. Returns the index one past the last key processed (< n when the output area
 * is full), or E_BAD_ARG when the layout does not fit the I/O area.
 */
export function get_many(slot: u32, n: u32, start: u32, keysOff: u32, outOff: u32, now: f64): i32 {
  return getMany(slot, n, start, keysOff, outOff, now);
}

/**
 * Batch set. Input at io: n records, each [u32 klen][u32 vlen][f64 ttl][i32 status][u32 0][key]
 * [value], padded to 8 bytes. Each record's status is written in place. Returns the index one
 * past the last record processed (< n only when the eviction log filled: drain it and call again
 * with that start), or E_BAD_ARG when the records do not fit the I/O area.
 */
export function set_many(slot: u32, n: u32, start: u32, now: f64): i32 {
  return setMany(slot, n, start, now);
}

/** Writes segment `segIndex`'s public snapshot (STATS_SIZE bytes, abi.ts ST_*) to the slot's io. */
export function stats(slot: u32, segIndex: u32): i32 {
  return writeStats(slot, segIndex);
}

/** Entries in the whole arena (a racy sum under concurrent writers; exact when quiescent). */
export function count(): u32 {
  const n = hdr32(H_SEGMENTS);
  let total: u32 = 0;
  for (let i: u32 = 0; i < n; i++) total += segCount(segPtr(i));
  return total;
}

/** Bytes charged to live entries in the whole arena (racy under concurrent writers). */
export function used(): f64 {
  const n = hdr32(H_SEGMENTS);
  let total: u64 = 0;
  for (let i: u32 = 0; i < n; i++) total += <u64>segUsed(segPtr(i));
  return <f64>total;
}

/** Walks segment `segIndex` and checks every invariant; 0 if sound, else a negative code. */
export function check(slot: u32, segIndex: u32): i32 {
  if (badSlot(slot)) return E_BAD_ARG;
  if (segIndex >= hdr32(H_SEGMENTS)) return E_BAD_ARG;
  const seg = segPtr(segIndex);
  lockSegment(seg, slot);
  const r = segCheck(seg, scratchOf(slot));
  unlockSegment(seg);
  return r;
}

/**
 * What io[0, klen) is: writes [u32 value bytes][u32 cost][f64 expires (host ms, 0 = never)] to
 * io and returns 1, or 0 if absent. Neither records an access nor counts (an expired entry it
 * finds is removed, as by peek).
 */
export function info(slot: u32, klen: u32, now: f64): i32 {
  return infoKey(slot, klen, now);
}

/**
 * Iterates segment `segIndex`: up to `max` live entries, in the order its policy would evict
 * them, as records after the scan cursor at the start of io (abi.ts SCAN_*). Returns how many;
 * the cursor's state says whether more follow. Holds the segment's lock for this call only.
 */
export function scan(slot: u32, segIndex: u32, max: u32, flags: u32, now: f64): i32 {
  if (badSlot(slot)) return E_BAD_ARG;
  if (segIndex >= hdr32(H_SEGMENTS)) return E_BAD_ARG;
  const seg = segPtr(segIndex);
  const io = ioPtr(slot);
  lockSegment(seg, slot);
  const r = segScan(seg, io, io + <usize>hdr32(H_IO_BYTES), max, flags, relTime(now));
  unlockSegment(seg);
  return r;
}
