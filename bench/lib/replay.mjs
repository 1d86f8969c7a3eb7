// Read-through replay: every request is a get; a miss sets the key (with its size, or `unitSize`
// for unsized traces). The miss ratio counts every request, cold misses included, as libCacheSim
// does: compulsory misses are the same for every policy, so differences between policies are
// unaffected, only the absolute level.

/** Replays `trace` through `cache` (get/set). Returns { requests, misses, missRatio, refused }. */
export function replay(cache, trace, unitSize = 1) {
  const { ids, sizes } = trace;
  let misses = 0, refused = 0;
  for (let i = 0; i < ids.length; i++) {
    const k = ids[i];
    if (cache.get(k)) continue;
    misses++;
    if (!cache.set(k, sizes ? sizes[i] : unitSize)) refused++;
  }
  return { requests: ids.length, misses, missRatio: misses / ids.length, refused };
}
