// Loads ArenaCache from the built package (dist/), and sizes its byte budget to an entry count.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const DIST = new URL('../../dist/', import.meta.url);

async function tryImport(rel) {
  const url = new URL(rel, DIST);
  if (!existsSync(fileURLToPath(url))) return { err: `dist/${rel} not built (run npm run build)` };
  try {
    return { mod: await import(url.href) };
  } catch (e) {
    return { err: `importing dist/${rel} failed: ${e.message.split('\n')[0]}` };
  }
}

/**
 * `{ ok: true, ArenaCache, from }` or `{ ok: false, reason }`. Tries the package's `./core` entry
 * (dist/core/index.js: what an application that only needs the cache imports) and then the root
 * entry dist/index.js. The root entry also loads gRPC, etcd and protobuf modules, whose heap makes
 * every full GC of the process about twice as long; the core section measures the cache, so it
 * prefers the core entry (the results name the entry used).
 */
export async function loadArenaCache() {
  const reasons = [];
  for (const rel of ['core/index.js', 'index.js']) {
    const { mod, err } = await tryImport(rel);
    if (err) {
      reasons.push(err);
      continue;
    }
    if (typeof mod.ArenaCache?.create !== 'function') {
      reasons.push(`dist/${rel} exports no ArenaCache.create`);
      continue;
    }
    return { ok: true, ArenaCache: mod.ArenaCache, from: `dist/${rel}`, mod };
  }
  return { ok: false, reason: reasons.join('; ') };
}

/** What the shared-memory (threads) API needs: createShared + attach. */
export function sharedSupport(ArenaCache) {
  if (!ArenaCache) return { ok: false, reason: 'ArenaCache not built' };
  if (typeof ArenaCache.createShared !== 'function') return { ok: false, reason: 'ArenaCache.createShared() does not exist yet (issue 4)' };
  if (typeof ArenaCache.attach !== 'function') return { ok: false, reason: 'ArenaCache.attach(handle) does not exist yet (issue 4)' };
  return { ok: true };
}

/**
 * Find a `maxBytes` for which ArenaCache holds `target` entries of this shape: ArenaCache is
 * byte-budgeted, the peers are count-budgeted, so equal-capacity comparisons need this mapping.
 *
 * mode 'hold': the smallest budget found (within ~0.2%) under which inserting `target` keys
 *   evicts nothing (every entry of the working set fits).
 * mode 'capacity': a budget whose steady-state entry count after inserting 2×target distinct
 *   keys is within ±0.5% of `target` (equal capacity for hit-ratio runs).
 *
 * keyOf(i) gives the i-th key (the same key shapes the run uses); valueBytes is the value size.
 * Returns { maxBytes, entries, iterations, bytesUsedPerEntry, memoryBytes }.
 */
export async function sizeArena(ArenaCache, { target, keyOf, valueBytes, mode, baseOptions = {}, onStep }) {
  const value = new Uint8Array(valueBytes).fill(7);
  const segments = baseOptions.segments ?? 16;
  const fill = async (maxBytes, inserts, iter) => {
    const cache = await ArenaCache.create({ ...baseOptions, maxBytes });
    for (let i = 0; i < inserts; i++) cache.set(keyOf(i), value);
    const st = cache.stats();
    const res = {
      mode,
      target,
      maxBytes,
      entries: cache.size,
      iterations: iter,
      bytesUsedPerEntry: cache.size ? st.bytesUsed / cache.size : NaN,
      memoryBytes: st.memoryBytes,
      evictions: st.evictions,
      maxSegmentUsed: Math.max(...st.segments.map((x) => x.bytesUsed)),
      segmentBudget: st.segments[0]?.budget,
    };
    cache.close?.();
    globalThis.gc?.();
    onStep?.(res);
    return res;
  };
  let keyBytes = 0;
  for (let i = 0; i < Math.min(target, 1000); i++) keyBytes += Buffer.byteLength(keyOf(i));
  keyBytes /= Math.min(target, 1000);
  const charge = typeof ArenaCache.entrySize === 'function' ? ArenaCache.entrySize(Math.round(keyBytes), valueBytes) : valueBytes + keyBytes + 48;

  if (mode === 'hold') {
    // 1. a generous arena holds every key: the fullest segment tells the per-segment budget needed
    //    (segments are chosen by key hash, independent of the budget).
    let probe = await fill(Math.ceil(target * charge * 1.5 + segments * 4096), target, 1);
    if (probe.entries < target) probe = await fill(probe.maxBytes * 2, target, 2);
    // 2. the smallest maxBytes whose per-segment region (docs/ABI.md §7 layout) fits that segment
    const region = (share) => {
      let buckets = 8;
      while (buckets < share >> 7) buckets *= 2;
      return (share - 4 * buckets) & ~15;
    };
    let share = probe.maxSegmentUsed & ~15;
    while (region(share) < probe.maxSegmentUsed) share += 16;
    let maxBytes = share * segments;
    // 3. verify; if the layout differs from the formula, grow until nothing is evicted
    for (let iter = 3; iter <= 12; iter++) {
      const res = await fill(maxBytes, target, iter);
      if (res.entries >= target && res.evictions === 0) return res;
      maxBytes = Math.ceil((maxBytes * 1.005) / (16 * segments)) * 16 * segments;
    }
    throw new Error(`could not size ArenaCache to hold ${target} entries of ${valueBytes} B`);
  }
  // capacity: steady-state entries after 2×target distinct inserts grow linearly with the budget
  let maxBytes = Math.ceil(target * charge * 1.1 + segments * 4096);
  let best = null;
  for (let iter = 1; iter <= 8; iter++) {
    const res = await fill(maxBytes, 2 * target, iter);
    const err = (res.entries - target) / target;
    if (!best || Math.abs(err) < Math.abs((best.entries - target) / target)) best = res;
    if (Math.abs(err) <= 0.002) break;
    maxBytes = Math.ceil(maxBytes * (target / Math.max(1, res.entries)));
  }
  return best;
}
