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
 * `{ ok: true, ArenaCache, from }` or `{ ok: false, reason }`. Tries dist/index.js (the package
 * entry) and then dist/core/index.js (in case another layer does not load yet).
 */
export async function loadArenaCache() {
  const reasons = [];
  for (const rel of ['index.js', 'core/index.js']) {
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
  const inserts = mode === 'hold' ? target : 2 * target;
  let keyBytes = 0;
  for (let i = 0; i < Math.min(target, 1000); i++) keyBytes += Buffer.byteLength(keyOf(i));
  keyBytes /= Math.min(target, 1000);
  // start from the bare payload (too small: no headers, no index) and grow from below, so the
  // budget found is tight; retained entries grow about linearly with the budget.
  let maxBytes = Math.ceil(target * (valueBytes + keyBytes));
  let best = null;
  for (let iter = 1; iter <= 10; iter++) {
    let cache;
    try {
      cache = await ArenaCache.create({ ...baseOptions, maxBytes });
    } catch (e) {
      onStep?.({ maxBytes, error: e.message });
      maxBytes *= 2;
      continue;
    }
    for (let i = 0; i < inserts; i++) cache.set(keyOf(i), value);
    const st = cache.stats();
    const entries = cache.size;
    const res = {
      mode,
      target,
      maxBytes,
      entries,
      iterations: iter,
      bytesUsedPerEntry: entries ? st.bytesUsed / entries : NaN,
      memoryBytes: st.memoryBytes,
      evictions: st.evictions,
    };
    onStep?.(res);
    cache.clear?.();
    cache = null;
    globalThis.gc?.();
    if (mode === 'hold') {
      if (entries >= target) return res;
      maxBytes = Math.ceil(maxBytes * (target / Math.max(1, entries)) * 1.003);
    } else {
      const err = (entries - target) / target;
      if (!best || Math.abs(err) < Math.abs((best.entries - target) / target)) best = res;
      if (Math.abs(err) <= 0.005) break;
      maxBytes = Math.ceil(maxBytes * (target / Math.max(1, entries)));
    }
  }
  if (mode === 'hold') throw new Error(`could not size ArenaCache to hold ${target} entries of ${valueBytes} B`);
  return best;
}
