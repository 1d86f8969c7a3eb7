// The adversarial section's work, in a child process of its own (started with --expose-gc):
//   collision  one key set (colliding or random) in one cache; timed one round at a time, so the
//              parent can interleave the two key sets like libraries in the core section
//   storm      the compaction storm: fill with 64 B values, read shuffled, PUT 128 B values
//   replay     a sized block-I/O trace, read-through, on one segment at 25% of its working set
// Only the public ArenaCache API is used (create, get, set, size, stats), so the same rows run on
// every core that keeps that API.
import { loadArenaCache } from '../lib/arena.mjs';
import { fnvMulticollision, fnv1a32, randomKeysLike } from '../lib/fnv-collisions.mjs';
import { readAct } from '../lib/traces.mjs';
import { rng, permutation } from '../lib/prng.mjs';
import { percentile } from '../lib/stats.mjs';
import { serve, progress, Unavailable } from '../lib/serve.mjs';

const cfg = JSON.parse(process.argv[2]);
const loaded = await loadArenaCache();
const ArenaCache = loaded.ArenaCache;
const now = () => performance.now();
const value = (n, tag) => {
  const v = new Uint8Array(n);
  v[0] = tag & 255;
  v[n - 1] = (tag >>> 8) & 255;
  return v;
};

// ---------- collision ----------
let col = null; // { cache, present, absent, opsFor }

async function collisionSetup({ keyset, stages, keys: K, valueBytes, seed }) {
  progress(`${keyset}: generating keys`);
  const { keys: colliding, hash } = fnvMulticollision({ stages, prefix: 'k/', seed });
  const bad = colliding.filter((k) => fnv1a32(k) !== hash).length;
  if (bad) throw new Error(`${bad} generated keys do not collide: the generator is broken`);
  const all = keyset === 'colliding' ? colliding : randomKeysLike(colliding.length, { prefix: 'k/', length: colliding[0].length - 2, rand: rng(seed + 1) });
  const present = all.slice(0, K);
  const absent = all.slice(K);
  // One segment: the whole key set shares one index, so both sets are judged on the index alone
  // (with 16 segments FNV-1a would also put every colliding key in one segment, and the random
  // ones would spread: a difference in load, not in the index). Room for every key, twice over.
  const keyBytes = present[0].length;
  const maxBytes = Math.ceil((all.length * ArenaCache.entrySize(keyBytes, valueBytes) * 2 + (1 << 20)) / 1024) * 1024;
  const cache = await ArenaCache.create({ maxBytes, segments: 1 });
  progress(`${keyset}: inserting ${K} keys`);
  const t = now();
  for (let i = 0; i < K; i++) cache.set(present[i], value(valueBytes, i));
  const fillMs = now() - t;
  const st = cache.stats();
  if (cache.size !== K || st.evictions) throw new Error(`${keyset}: the cache kept ${cache.size} of ${K} keys (${st.evictions} evictions)`);
  col = { cache, present, absent, valueBytes, seed, opsFor: {} };
  return { keyset, hash: keyset === 'colliding' ? hash : null, keyBytes, maxBytes, fillMs, distinctHashes: new Set(present.map((k) => fnv1a32(k))).size };
}

/** The timed loop of one collision op over `n` keys, starting at `from` in a per-round order. */
function collisionLoop(op, order, from, n) {
  const { cache, present, absent, valueBytes } = col;
  let found = 0;
  let sink = 0;
  const t = now();
  if (op === 'get-hit') {
    for (let i = 0; i < n; i++) {
      const v = cache.get(present[order[(from + i) % order.length]]);
      if (v !== undefined) {
        found++;
        sink += v[0] + v[v.length - 1];
      }
    }
  } else if (op === 'get-miss') {
    for (let i = 0; i < n; i++) if (cache.get(absent[(from + i) % absent.length]) !== undefined) found++;
  } else {
    for (let i = 0; i < n; i++) {
      const j = order[(from + i) % order.length];
      cache.set(present[j], value(valueBytes, j));
      found++;
    }
  }
  return { ms: now() - t, found, sink };
}

function collisionRun({ scenario: op, round }, targetMs) {
  const order = permutation(col.present.length, col.seed + 17 * round);
  // Calibrate once per op (on the warm-up round): as many operations as fill ~targetMs. The two
  // key sets then differ in count, not in what is compared: the time per operation.
  if (!col.opsFor[op]) {
    let n = 16;
    for (;;) {
      const { ms } = collisionLoop(op, order, 0, n);
      if (ms >= targetMs / 8 || n >= 1 << 22) {
        col.opsFor[op] = Math.max(16, Math.ceil((n * targetMs) / Math.max(ms, 0.001)));
        break;
      }
      n *= 4;
    }
  }
  const n = col.opsFor[op];
  const r = collisionLoop(op, order, round * 7919, n);
  const expect = op === 'get-miss' ? 0 : n;
  if (r.found !== expect) throw new Error(`${op}: ${r.found} found of ${n}, expected ${expect}`);
  return { ops: n, ms: r.ms, sink: r.sink };
}

// ---------- compaction storm ----------
async function storm({ maxBytes, segments, smallValue, bigValue, maxPuts, timeBoxMs, seed }) {
  const cache = await ArenaCache.create({ maxBytes, segments });
  // 1. fill the whole cache with small entries: insert until an insert no longer grows the count
  progress('storm: filling with small entries');
  const small = value(smallValue, 1);
  let n = 0;
  for (;;) {
    const before = cache.size;
    cache.set('s:' + n++, small);
    if (cache.size === before) break;
  }
  // 2. read them all in shuffled order: recency no longer follows the order in memory, so what
  //    the cache evicts next is scattered over its segments
  progress(`storm: reading ${n} entries in shuffled order`);
  const order = permutation(n, seed);
  let hits = 0;
  for (let i = 0; i < n; i++) if (cache.get('s:' + order[i]) !== undefined) hits++;
  // 3. PUT larger entries under new keys, timing every one
  const st0 = cache.stats();
  const lat = new Float64Array(maxPuts);
  const t0 = now();
  let puts = 0;
  progress(`storm: ${maxPuts} PUTs of ${bigValue} B (time box ${timeBoxMs / 1000} s)`);
  while (puts < maxPuts && now() - t0 < timeBoxMs) {
    const k = 'p:' + puts;
    const v = value(bigValue, puts);
    const a = process.hrtime.bigint();
    cache.set(k, v);
    lat[puts++] = Number(process.hrtime.bigint() - a) / 1e6;
  }
  const st1 = cache.stats();
  const l = lat.subarray(0, puts);
  return {
    entries: n,
    readHits: hits,
    puts,
    wallMs: now() - t0,
    p50Ms: percentile(l, 50),
    p99Ms: percentile(l, 99),
    p999Ms: percentile(l, 99.9),
    maxMs: Math.max(...l),
    meanMs: l.reduce((a, x) => a + x, 0) / puts,
    compactions: st1.compactions === undefined ? null : st1.compactions - st0.compactions,
    evictions: st1.evictions - st0.evictions,
  };
}

// ---------- trace replay ----------
async function replay({ file, fraction, timeBoxMs }) {
  const t = await readAct(file);
  if (!t.sizes) throw new Error(`${file} has no object sizes`);
  const n = t.ids.length;
  const workingSet = t.workingSetBytes;
  const maxBytes = Math.floor((workingSet * fraction) / 1024) * 1024;
  const cache = await ArenaCache.create({ maxBytes, segments: 1 });
  const lat = new Float64Array(n);
  let hits = 0;
  let sink = 0;
  let done = 0;
  const st0 = cache.stats();
  const t0 = now();
  progress(`replay: ${n} requests on ${maxBytes} B (time box ${timeBoxMs / 1000} s)`);
  for (; done < n && now() - t0 < timeBoxMs; done++) {
    const k = 'b:' + t.ids[done];
    const a = process.hrtime.bigint();
    const v = cache.get(k);
    if (v === undefined) cache.set(k, value(t.sizes[done], done));
    else {
      hits++;
      sink += v[0] + v[v.length - 1];
    }
    lat[done] = Number(process.hrtime.bigint() - a) / 1e6;
  }
  const wallMs = now() - t0;
  const st1 = cache.stats();
  const l = lat.subarray(0, done);
  return {
    requests: n,
    done,
    workingSet,
    maxBytes,
    hitRatio: hits / done,
    wallMs,
    meanMs: l.reduce((a, x) => a + x, 0) / done,
    p99Ms: percentile(l, 99),
    maxMs: Math.max(...l),
    compactions: st1.compactions === undefined ? null : st1.compactions - st0.compactions,
    sink,
  };
}

serve({
  async hello() {
    if (!loaded.ok) throw new Unavailable(loaded.reason);
    return { from: loaded.from };
  },
  setup: (args) => collisionSetup({ ...cfg.collision, ...args }),
  async run(args) {
    return collisionRun(args, cfg.collision.targetMs);
  },
  storm: (args) => storm(args),
  replay: (args) => replay(args),
});
