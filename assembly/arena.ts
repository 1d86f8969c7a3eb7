// An arena's layout: the sizing rules (one set, used by init and by arena_size, with which hosts
// size shared memories) and init, which lays the header, the tables and every segment out.
// docs/ABI.md section 11 states these rules; change them only with ABI_VERSION.

import {
  MAGIC, ABI_VERSION, H_MAGIC, H_ABI, H_STATE, H_SEGMENTS, H_SEG_BITS, H_THREADS, H_POLICY,
  H_ENTRY_HEADER, H_REGION, H_BUDGET, H_SEG_ENTRIES, H_BUCKETS, H_IO_BYTES, H_LOG_BYTES, H_MAX_KEY,
  H_MAX_VALUE, H_MAX_BYTES, H_MAX_ENTRIES, H_SEG_TABLE, H_SLOT_TABLE, H_COUNTER_TABLE, H_IO_BASE,
  H_DATA_BASE, H_END, H_SEG_STRIDE, H_IO_STRIDE, H_SMALL_BYTES, H_GHOST_SLOTS, H_TTL_SEEN, H_FLAGS,
  H_SEED, H_DEFAULT_TTL, H_EPOCH, H_ENTRY_LIMIT, HEADER_SIZE, SL_STATE, SLOT_SIZE, SLOT_LIVE,
  COUNTER_SIZE, POLICY_LRU, POLICY_S3FIFO, POLICY_COUNT, INIT_LOG, INIT_PREFAULT,
  DEFAULT_BYTES_PER_ENTRY, MIN_SEGMENT_STORAGE, MIN_SEG_ENTRIES, MIN_SEG_ENTRIES_S3FIFO, ENTRY_HEADER, ENTRY_HEADER_LRU, OK, E_BAD_ARG,
  E_NO_MEMORY, S3_SMALL_PERCENT,
} from './abi';
import {
  S_CAP, S_INDEX, S_BUCKETS, S_GHOST, S_GHOST_MASK, S_RING0, S_RING1, SEG_SIZE, R_START, R_END,
  R_HEAD, R_TAIL, R_CAP, headerPtr, align64,
} from './layout';
import { lruBudgetOf } from './segment';


// @ts-ignore: decorator
@inline function segShare(maxBytes: u32, segments: u32): u64 {
  return <u64>(maxBytes / segments) & ~(<u64>63);
}

// @ts-ignore: decorator
@inline function segEntries(maxBytes: u32, segments: u32, maxEntries: u32): u64 {
  // A given limit is never exceeded (rounded down per segment); the default is only index sizing.
  if (maxEntries != 0) return <u64>maxEntries / <u64>segments;
  const per = (<u64>(maxBytes / DEFAULT_BYTES_PER_ENTRY) + <u64>segments - 1) / <u64>segments;
  return per > <u64>MIN_SEG_ENTRIES_S3FIFO ? per : <u64>MIN_SEG_ENTRIES_S3FIFO;
}

// @ts-ignore: decorator
@inline function minSegEntries(pol: u32): u64 {
  return pol == POLICY_S3FIFO ? <u64>MIN_SEG_ENTRIES_S3FIFO : <u64>MIN_SEG_ENTRIES;
}

/** Buckets for `cap` entries at most 7/8 full (12 slots a bucket). */
// @ts-ignore: decorator
@inline function bucketsFor(cap: u64): u64 {
  return (cap * 2 + 20) / 21;
}

// @ts-ignore: decorator
@inline function ghostSlotsFor(cap: u64, pol: u32): u64 {
  if (pol != POLICY_S3FIFO) return 0;
  let g: u64 = 8;
  while (g < cap) g <<= 1;
  return g;
}

/** Bytes of one segment's entry storage, or a negative value when the share cannot hold it. */
// @ts-ignore: decorator
@inline function segStorage(share: u64, cap: u64, pol: u32): i64 {
  return <i64>share - <i64>(bucketsFor(cap) << 6) - <i64>align64(ghostSlotsFor(cap, pol) << 1);
}

// @ts-ignore: decorator
@inline function entryHeaderFor(pol: u32): u32 {
  return pol == POLICY_LRU ? ENTRY_HEADER_LRU : ENTRY_HEADER;
}

/** The most one entry may cost: the lru budget, or a queue that keeps two headers' worth free. */
// @ts-ignore: decorator
@inline function entryLimitFor(storage: u64, pol: u32): u64 {
  const hdr = <u64>entryHeaderFor(pol);
  if (pol == POLICY_LRU) return <u64>lruBudgetOf(<usize>storage);
  if (pol == POLICY_S3FIFO) return (storage - smallBytes(storage)) - 2 * hdr;
  return storage - 2 * hdr;
}

/** The largest value storable (with an empty key), capped by what one segment can hold. */
// @ts-ignore: decorator
@inline function effectiveMaxValue(maxValue: u32, storage: u64, pol: u32): u64 {
  const hdr = <u64>entryHeaderFor(pol);
  const cost = entryLimitFor(storage, pol);
  const most = cost > hdr ? cost - hdr : 0;
  return <u64>maxValue < most ? <u64>maxValue : most;
}

// @ts-ignore: decorator
@inline function smallBytes(storage: u64): u64 {
  return (storage * <u64>S3_SMALL_PERCENT / 100) & ~(<u64>63);
}

// @ts-ignore: decorator
@inline function ioBytesFor(maxKey: u32, maxValue: u64): u64 {
  // Room for the largest entry as a log record, and as a scan record behind the scan cursor.
  let io = 2 * <u64>maxKey + maxValue + 96;
  if (io < 65536) io = 65536;
  return (io + 15) & ~(<u64>15);
}

/** Validates init's arguments; OK or E_BAD_ARG. */
function checkArgs(maxBytes: u32, segments: u32, threads: u32, maxKey: u32, maxEntries: u32, pol: u32, flags: u32, defaultTtl: f64, now: f64): i32 {
  if (segments == 0 || segments > 1024 || (segments & (segments - 1)) != 0) return E_BAD_ARG;
  if (threads == 0 || threads > 1024) return E_BAD_ARG;
  if (maxKey == 0 || maxKey > 65535) return E_BAD_ARG;
  if (pol >= POLICY_COUNT || (flags & ~(INIT_LOG | INIT_PREFAULT)) != 0) return E_BAD_ARG;
  if (!(defaultTtl >= 0) || !isFinite(defaultTtl) || !isFinite(now)) return E_BAD_ARG;
  if (segEntries(maxBytes, segments, maxEntries) < minSegEntries(pol)) return E_BAD_ARG;
  const share = segShare(maxBytes, segments);
  if (segStorage(share, segEntries(maxBytes, segments, maxEntries), pol) < <i64>MIN_SEGMENT_STORAGE) return E_BAD_ARG;
  return OK;
}

/** The per-slot area: I/O, eviction log, scratch for one key; 64-aligned so threads share no line. */
// @ts-ignore: decorator
@inline function ioStrideFor(io: u64, log: u64, maxKey: u32): u64 {
  return align64(io + log + ((<u64>maxKey + 15) & ~(<u64>15)));
}

/** arena_size (docs/ABI.md): where an arena with these arguments would end, or E_BAD_ARG. */
export function arenaSize(
  maxBytes: u32, segments: u32, threads: u32, maxKey: u32, maxValue: u32, maxEntries: u32, pol: u32, flags: u32,
): f64 {
  if (checkArgs(maxBytes, segments, threads, maxKey, maxEntries, pol, flags, 0, 0) != OK) return <f64>E_BAD_ARG;
  return <f64>layoutEnd(maxBytes, segments, threads, maxKey, maxValue, maxEntries, pol, flags);
}

function layoutEnd(maxBytes: u32, segments: u32, threads: u32, maxKey: u32, maxValue: u32, maxEntries: u32, pol: u32, flags: u32): u64 {
  const share = segShare(maxBytes, segments);
  const storage = <u64>segStorage(share, segEntries(maxBytes, segments, maxEntries), pol);
  const io = ioBytesFor(maxKey, effectiveMaxValue(maxValue, storage, pol));
  const stride = ioStrideFor(io, (flags & INIT_LOG) != 0 ? io : 0, maxKey);
  const H = <u64>headerPtr();
  const slotTable = H + <u64>HEADER_SIZE;
  const segTable = align64(slotTable + <u64>threads * <u64>SLOT_SIZE);
  const counters = align64(segTable + <u64>segments * <u64>SEG_SIZE);
  const ioBase = align64(counters + <u64>threads * <u64>segments * <u64>COUNTER_SIZE);
  const dataBase = align64(ioBase + <u64>threads * stride);
  return dataBase + <u64>segments * share;
}

/**
 * init (docs/ABI.md): lays out a new arena in this memory and claims thread slot 0 for the caller
 * (flags 0). Returns the header offset (> 0), E_BAD_ARG or E_NO_MEMORY. Validates everything
 * before writing anything, so a failed init may be retried with other arguments.
 */
export function initArena(
  maxBytes: u32, segments: u32, threads: u32, maxKey: u32, maxValue: u32, maxEntries: u32, pol: u32,
  flags: u32, defaultTtl: f64, now: f64, seed0: u32, seed1: u32, seed2: u32, seed3: u32,
): i32 {
  const bad = checkArgs(maxBytes, segments, threads, maxKey, maxEntries, pol, flags, defaultTtl, now);
  if (bad != OK) return bad;
  const end = layoutEnd(maxBytes, segments, threads, maxKey, maxValue, maxEntries, pol, flags);
  if (end > 0xFFFF0000) return E_NO_MEMORY;
  const H = headerPtr();
  // Grow first (harmless if another initialiser wins below): the header itself may not exist yet.
  const pages = <i32>((end + 65535) >> 16);
  const have = memory.size();
  if (pages > have && memory.grow(pages - have) < 0) return E_NO_MEMORY;
  if (ASC_FEATURE_THREADS) {
    if (atomic.cmpxchg<u32>(H + <usize>H_STATE, 0, 1) != 0) return E_BAD_ARG;
  } else {
    if (load<u32>(H + <usize>H_STATE) != 0) return E_BAD_ARG;
    store<u32>(H + <usize>H_STATE, 1);
  }
  const share = segShare(maxBytes, segments);
  const cap = segEntries(maxBytes, segments, maxEntries);
  const buckets = bucketsFor(cap);
  const ghostSlots = ghostSlotsFor(cap, pol);
  const storage = <u64>segStorage(share, cap, pol);
  const small = pol == POLICY_S3FIFO ? smallBytes(storage) : 0;
  const mv = effectiveMaxValue(maxValue, storage, pol);
  const io = ioBytesFor(maxKey, mv);
  const log = (flags & INIT_LOG) != 0 ? io : 0;
  const stride = ioStrideFor(io, log, maxKey);
  const slotTable = <u64>H + <u64>HEADER_SIZE;
  const segTable = align64(slotTable + <u64>threads * <u64>SLOT_SIZE);
  const counters = align64(segTable + <u64>segments * <u64>SEG_SIZE);
  const ioBase = align64(counters + <u64>threads * <u64>segments * <u64>COUNTER_SIZE);
  const dataBase = align64(ioBase + <u64>threads * stride);
  const hdr = entryHeaderFor(pol);
  const budget = pol == POLICY_LRU ? <u64>lruBudgetOf(<usize>storage) : storage;

  put(H_ABI, ABI_VERSION);
  put(H_SEGMENTS, segments);
  put(H_SEG_BITS, ctz<u32>(segments));
  put(H_THREADS, threads);
  put(H_POLICY, pol);
  put(H_ENTRY_HEADER, hdr);
  put(H_REGION, storage);
  put(H_BUDGET, budget);
  put(H_SEG_ENTRIES, cap);
  put(H_BUCKETS, buckets);
  put(H_IO_BYTES, io);
  put(H_LOG_BYTES, log);
  put(H_MAX_KEY, maxKey);
  put(H_MAX_VALUE, mv);
  put(H_MAX_BYTES, maxBytes);
  put(H_MAX_ENTRIES, cap * <u64>segments);
  put(H_SEG_TABLE, segTable);
  put(H_SLOT_TABLE, slotTable);
  put(H_COUNTER_TABLE, counters);
  put(H_IO_BASE, ioBase);
  put(H_DATA_BASE, dataBase);
  put(H_END, end);
  put(H_SEG_STRIDE, share);
  put(H_IO_STRIDE, stride);
  put(H_SMALL_BYTES, small);
  put(H_GHOST_SLOTS, ghostSlots);
  put(H_TTL_SEEN, defaultTtl > 0 ? 1 : 0);
  put(H_FLAGS, flags);
  put(H_SEED, seed0);
  put(H_SEED + 4, seed1);
  put(H_SEED + 8, seed2);
  put(H_SEED + 12, seed3);
  store<f64>(H + <usize>H_DEFAULT_TTL, defaultTtl);
  store<f64>(H + <usize>H_EPOCH, now);
  put(H_ENTRY_LIMIT, entryLimitFor(storage, pol));
  // Fresh linear memory is zero, so index, locks and counters start cleared without touching
  // (and committing) every page of a large arena, unless the host asked for exactly that.
  if ((flags & INIT_PREFAULT) != 0) memory.fill(<usize>ioBase, 0, <usize>(end - ioBase));
  const capSmall: u64 = pol == POLICY_S3FIFO ? (cap * <u64>S3_SMALL_PERCENT + 99) / 100 : 0;
  for (let i: u32 = 0; i < segments; i++) {
    const seg = <usize>segTable + <usize>i * SEG_SIZE;
    const base = dataBase + <u64>i * share;
    store<u32>(seg + S_CAP, <u32>cap);
    store<u32>(seg + S_INDEX, <u32>base);
    store<u32>(seg + S_BUCKETS, <u32>buckets);
    const ghost = base + (buckets << 6);
    if (ghostSlots != 0) {
      store<u32>(seg + S_GHOST, <u32>ghost);
      store<u32>(seg + S_GHOST_MASK, <u32>(ghostSlots - 1));
    }
    const store0 = ghost + align64(ghostSlots << 1);
    // s3fifo: [small ring][main ring]; otherwise one ring over all the storage.
    initRing(seg + S_RING1, store0, small, capSmall);
    initRing(seg + S_RING0, store0 + small, storage - small, cap - capSmall > 0 ? cap - capSmall : 1);
  }
  store<u32>(<usize>slotTable + <usize>SL_STATE, SLOT_LIVE);
  store<u32>(H + <usize>H_MAGIC, MAGIC);
  if (ASC_FEATURE_THREADS) atomic.store<u32>(H + <usize>H_STATE, 2);
  else store<u32>(H + <usize>H_STATE, 2);
  return <i32>H;
}

// @ts-ignore: decorator
@inline function put(off: u32, v: u64): void {
  store<u32>(headerPtr() + <usize>off, <u32>v);
}

function initRing(r: usize, start: u64, len: u64, cap: u64): void {
  store<u32>(r + R_START, <u32>start);
  store<u32>(r + R_END, <u32>(start + len));
  store<u32>(r + R_HEAD, <u32>start);
  store<u32>(r + R_TAIL, <u32>start);
  store<u32>(r + R_CAP, len != 0 ? <u32>cap : 0);
}

