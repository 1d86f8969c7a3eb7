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
 * What this build of ArenaCache can do, found at run time so the bench runs on every build:
 * borrowing reads (getInto, getView), an entry-count bound (maxEntries: tested by behaviour, since
 * an options object ignores names it does not know) and eviction policies (a policy counts only if
 * the cache reports it back as `cache.policy` or `stats().policy`).
 */
export async function arenaFeatures(ArenaCache) {
  const f = { getInto: false, getView: false, getMany: false, maxEntries: false, defaultPolicy: null, policies: [] };
  const policyOf = (c) => c.policy ?? c.stats().policy ?? null;
  const probe = await ArenaCache.create({ maxBytes: 1 << 20 });
  f.getInto = typeof probe.getInto === 'function';
  f.getView = typeof probe.getView === 'function';
  f.getMany = typeof probe.getMany === 'function';
  f.defaultPolicy = policyOf(probe);
  probe.close?.();
  try {
    const c = await ArenaCache.create({ maxBytes: 1 << 20, maxEntries: 8 });
    for (let i = 0; i < 64; i++) c.set('k' + i, 'v');
    f.maxEntries = c.size <= 8;
    c.close?.();
  } catch {}
  const published = ArenaCache.policies ?? ArenaCache.POLICIES;
  const candidates = Array.isArray(published) ? published : ['lru', 'clock', 'sieve', 's3fifo', 's3-fifo'];
  for (const p of candidates) {
    try {
      const c = await ArenaCache.create({ maxBytes: 1 << 20, policy: p });
      if (policyOf(c) === p) f.policies.push(p);
      c.close?.();
    } catch {}
  }
  return f;
}

/** The hash seed of sized arenas (any seed splits keys as evenly; a fixed one splits them the same way each time). */
export const SIZING_SEED = [0x9e3779b9, 0x7f4a7c15, 0x85ebca6b, 0xc2b2ae35];

/**
 * A `maxBytes` under which ArenaCache holds `target` entries of this shape. ArenaCache has a byte
 * budget and the peers an entry count, so equal-capacity comparisons need this mapping. It is
 * computed from what the cache reports, never from a layout written down here:
 *
 * mode 'hold' (get/set/memory): a budget (within ~0.2% of the smallest) under which inserting
 *   the `target` keys evicts nothing, found by bisection (each step a real fill). With a working
 *   maxEntries option, the count bound is set too: the fullest segment's count × segments.
 * mode 'capacity' (Zipf): a steady state of `target` entries. With a working `maxEntries` option
 *   the count itself is the bound (and the bytes a 'hold' budget with 5% to spare); without it,
 *   maxBytes is iterated until 2×target distinct inserts leave `target` ± 0.2% entries.
 *
 * The first guess comes from ArenaCache.entrySize(key bytes, value bytes). keyOf(i) gives the
 * i-th key, in the order the run inserts them. Returns { maxBytes, options, entries, ... }.
 */
export async function sizeArena(ArenaCache, { target, keyOf, valueBytes, mode, baseOptions = {}, maxEntries = false, onStep }) {
  const value = new Uint8Array(valueBytes).fill(7);
  const segments = baseOptions.segments ?? 16;
  // One hash seed for every fill and for the measured cache (res.options): with a random seed per
  // arena, the keys split differently over the segments each time and a budget found for one
  // split need not hold the next.
  baseOptions = { seed: SIZING_SEED, ...baseOptions };
  const fill = async (options, inserts) => {
    const cache = await ArenaCache.create({ ...baseOptions, ...options });
    for (let i = 0; i < inserts; i++) cache.set(keyOf(i), value);
    const st = cache.stats();
    const res = {
      mode,
      target,
      maxBytes: options.maxBytes,
      options: { ...baseOptions, ...options },
      entries: cache.size,
      bytesUsedPerEntry: cache.size ? st.bytesUsed / cache.size : NaN,
      memoryBytes: st.memoryBytes,
      evictions: st.evictions,
      maxSegmentUsed: Math.max(...st.segments.map((x) => x.bytesUsed)),
      maxSegmentEntries: Math.max(...st.segments.map((x) => x.entries)),
      segments: st.segments.length,
      segmentBudget: Math.min(...st.segments.map((x) => x.budget)),
    };
    cache.close?.();
    globalThis.gc?.();
    onStep?.(res);
    return res;
  };
  let charged = 0; // what the target keys are charged, by the cache's own formula
  for (let i = 0; i < target; i++) charged += ArenaCache.entrySize(Buffer.byteLength(keyOf(i)), valueBytes);
  const align = 64 * segments;
  const up = (x) => Math.ceil(x / align) * align;

  // The smallest budget (within 0.2%) that holds the `target` keys with nothing evicted, found by
  // bisection between what the keys are charged and a budget that holds them. With a working
  // maxEntries, the count bound is the fullest segment's count × segments (lru-cache's `max` is
  // the count; a segmented cache splits it evenly and its keys do not split exactly evenly).
  const hold = async () => {
    let probe = await fill({ maxBytes: up(charged * 1.5 + segments * 65536) }, target);
    while (probe.evictions > 0 || probe.entries < target) probe = await fill({ maxBytes: up(probe.maxBytes * 2) }, target);
    const count = maxEntries ? probe.maxSegmentEntries * probe.segments : undefined;
    const extra = count ? { maxEntries: count } : {};
    const holds = (r) => r.entries >= target && r.evictions === 0;
    let hi = await fill({ maxBytes: probe.maxBytes, ...extra }, target);
    for (let grow = 0; !holds(hi); grow++) {
      if (grow === 8) throw new Error(`could not size ArenaCache to hold ${target} entries of ${valueBytes} B`);
      hi = await fill({ maxBytes: up(hi.maxBytes * 2), ...extra }, target);
    }
    let lo = up(charged) - align;
    let iterations = 2;
    while (hi.maxBytes - lo > Math.max(align, hi.maxBytes * 0.002)) {
      const res = await fill({ maxBytes: up((lo + hi.maxBytes) / 2), ...extra }, target);
      iterations++;
      if (holds(res)) hi = res;
      else lo = res.maxBytes;
    }
    return { ...hi, iterations, ...(count ? { bound: 'maxEntries', maxEntries: count } : {}) };
  };
  if (mode === 'hold') return hold();
  if (maxEntries) {
    const h = await hold();
    const res = await fill({ maxBytes: up(h.maxBytes * 1.05), maxEntries: target }, 2 * target);
    return { ...res, bound: 'maxEntries' };
  }
  let maxBytes = up(charged * 1.1 + segments * 4096);
  let best = null;
  for (let iter = 1; iter <= 8; iter++) {
    const res = await fill({ maxBytes }, 2 * target);
    const err = (res.entries - target) / target;
    if (!best || Math.abs(err) < Math.abs((best.entries - target) / target)) best = { ...res, iterations: iter, bound: 'maxBytes' };
    if (Math.abs(err) <= 0.002) break;
    maxBytes = up(maxBytes * (target / Math.max(1, res.entries)));
  }
  return best;
}
