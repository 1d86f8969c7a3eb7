// One library (or one ArenaCache variant) for the core section, alive for a whole shape: the
// parent (core.mjs) asks it to set up a cache state and then to run one round of a scenario at a
// time, interleaved with the other libraries' children. Isolated heaps: one library's garbage
// and its collector's pauses are never billed to another. Started with --expose-gc.
import { PerformanceObserver } from 'node:perf_hooks';
import { PEERS, ARENA } from '../lib/peers.mjs';
import { loadArenaCache, sizeArena } from '../lib/arena.mjs';
import { rng, permutation, uniformIndices, zipfTrace, checksum } from '../lib/prng.mjs';

const seqKey = (i) => 'key:' + i;
import { summarize } from '../lib/stats.mjs';
import { serve, progress, Unavailable } from '../lib/serve.mjs';
import { scenarioById, makeValue, opsPerRun, coldFills } from './core-scenarios.mjs';

const cfg = JSON.parse(process.argv[2]); // { lib, variant, entries, valueBytes, seed, zipf, quick, maxEntries }
const { entries: N, valueBytes: V, seed } = cfg;
if (typeof globalThis.gc !== 'function') throw new Error('core-child needs --expose-gc');
const gcFull = () => {
  globalThis.gc();
  globalThis.gc();
};
const tick = () => new Promise((r) => setTimeout(r, 20));
const OPS = opsPerRun(cfg.quick);

// ---------- the library and its cache factory ----------
// create(mode, capacity, keyOf): 'hold' = holds `capacity` entries without evicting (get rows),
// 'capacity' = a steady state of `capacity` entries (rows that evict); keyOf(i) = the i-th key
// inserted, which is what ArenaCache's byte budget is sized with (the peers count entries)
let create;
let arena = null; // { ArenaCache, from, sizing: {} } for ArenaCache
const variant = cfg.variant ?? {}; // ArenaCache only: { read: 'get'|'getInto'|'getView', options: {...} }
if (cfg.lib === ARENA.id) {
  const loaded = await loadArenaCache();
  arena = loaded.ok ? { ArenaCache: loaded.ArenaCache, from: loaded.from, sizing: {}, unavailable: null } : { unavailable: loaded.reason };
  create = async (mode, capacity, keyOf) => {
    const key = `${mode}:${capacity}`;
    if (!arena.sizing[key]) {
      progress(`sizing ArenaCache (${mode} ${capacity})`);
      arena.sizing[key] = await sizeArena(arena.ArenaCache, {
        target: capacity, keyOf, valueBytes: V, mode, baseOptions: variant.options ?? {}, maxEntries: cfg.maxEntries,
        onStep: (r) => progress(`sizing ArenaCache (${mode} ${capacity}): maxBytes ${r.maxBytes} → ${r.entries} entries`),
      });
      gcFull();
    }
    return arena.ArenaCache.create(arena.sizing[key].options);
  };
} else {
  const peer = PEERS.find((p) => p.id === cfg.lib);
  if (!peer) throw new Error('unknown library ' + cfg.lib);
  create = (mode, capacity) => peer.create(capacity);
}

function readerFor(cache) {
  if (variant.read === 'getInto') {
    const buf = new Uint8Array(V);
    return (k) => {
      const n = cache.getInto(k, buf);
      return n < 0 ? -1 : buf[0] + buf[n - 1];
    };
  }
  if (variant.read === 'getView') {
    return (k) => {
      const v = cache.getView(k);
      return v === undefined ? -1 : v[0] + v[v.length - 1];
    };
  }
  return (k) => {
    const v = cache.get(k);
    return v === undefined ? -1 : v[0] + v[v.length - 1];
  };
}

function getManyFor(cache) {
  if (arena) return (ks) => cache.getMany(ks);
  const out = [];
  return (ks) => {
    for (let j = 0; j < ks.length; j++) out[j] = cache.get(ks[j]);
    return out;
  };
}

// ---------- cache states ----------
// s is what the scenario loops see (see core-scenarios.mjs); it is rebuilt when the state changes
let s = null;
const indexCache = new Map();
const perRound = (round, salt, make) => {
  const key = `${salt}:${round}`;
  if (!indexCache.has(key)) {
    indexCache.clear();
    indexCache.set(key, make(seed + salt * 1000 + round));
  }
  return indexCache.get(key);
};
const base = () => ({
  N,
  V,
  indices: (round) => perRound(round, 1, (sd) => uniformIndices(OPS, N, sd)),
  setMask: (round) =>
    perRound(round, 2, (sd) => {
      const r = rng(sd);
      const m = new Uint8Array(OPS);
      for (let i = 0; i < OPS; i++) m[i] = r() < 0.1 ? 1 : 0;
      return m;
    }),
});

function drop() {
  s?.cache?.close?.();
  for (const c of s?.fresh ?? []) c.close?.();
  s = null;
  gcFull();
}

const mem = () => {
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, rss: m.rss };
};

const states = {
  // a full cache of fresh keys and values that the bench does not retain: memory per entry
  async memory() {
    if (arena) (await create('hold', N, seqKey)).close?.(); // size first: the sizing arenas are collected before the baseline
    gcFull();
    await tick();
    gcFull();
    const m0 = mem();
    const cache = await create('hold', N, seqKey);
    progress(`memory: filling ${N} fresh entries`);
    for (let i = 0; i < N; i++) cache.set('key:' + i, makeValue(i, V));
    gcFull();
    await tick();
    gcFull();
    const m1 = mem();
    const d = { heapUsed: m1.heapUsed - m0.heapUsed, external: m1.external - m0.external, arrayBuffers: m1.arrayBuffers - m0.arrayBuffers, rss: m1.rss - m0.rss };
    // arrayBuffers is part of external: never added twice. A wasm memory may not show in external.
    let total = d.heapUsed + d.external;
    const info = { entries: cache.size, delta: d };
    if (arena) {
      const st = cache.stats();
      info.arena = { memoryBytes: st.memoryBytes, bytesUsed: st.bytesUsed, bytesUsedPerEntry: st.bytesUsed / cache.size };
      if (d.external < st.memoryBytes * 0.9) {
        total += st.memoryBytes;
        info.wasmAddedExplicitly = true;
      }
    }
    let keyBytes = 0;
    for (let i = 0; i < N; i++) keyBytes += Buffer.byteLength('key:' + i);
    info.payloadPerEntry = keyBytes / N + V;
    info.bytesPerEntry = total / cache.size;
    info.rssPerEntry = d.rss / cache.size;
    info.overPayload = info.bytesPerEntry / info.payloadPerEntry;
    return { s: { ...base(), cache }, info };
  },
  // N entries whose key strings the bench keeps (for the same-object case), distinct values
  async filled() {
    const cache = await create('hold', N, seqKey);
    const keys = new Array(N);
    progress(`filling ${N} entries`);
    for (let i = 0; i < N; i++) {
      keys[i] = 'key:' + i;
      cache.set(keys[i], makeValue(i, V));
    }
    const x = { ...base(), cache, keys, next: N, read: readerFor(cache), getMany: getManyFor(cache) };
    return { s: x, info: { entries: cache.size } };
  },
  // a cache bounded to N entries (ArenaCache: the budget whose steady state is N entries),
  // filled with N keys: every later insert evicts, and every library holds the same count
  async steady() {
    const cache = await create('capacity', N, seqKey);
    progress(`filling ${N} entries`);
    for (let i = 0; i < N; i++) cache.set('key:' + i, makeValue(i, V));
    const x = { ...base(), cache, next: N, read: readerFor(cache), getMany: getManyFor(cache) };
    return { s: x, info: { entries: cache.size } };
  },
  // fresh, empty caches before every round (made in freshCaches, untimed)
  async empty() {
    return { s: { ...base(), fresh: [] }, info: { fills: coldFills(N, V, cfg.quick) } };
  },
  // capacity C = 10% of the keys, warmed by N accesses of the trace before any timed round
  async zipf(rounds) {
    const z = cfg.zipf;
    const C = Math.round(N * z.capacityFraction);
    const warm = N;
    const length = warm + rounds * OPS;
    progress(`Zipf(${z.theta}) trace of ${length} over ${N} keys`);
    const trace = zipfTrace(length, N, z.theta, seed + 3);
    const zipfOrder = permutation(N, seed ^ 0x1234); // sizing inserts distinct keys in this order
    const cache = await create('capacity', C, (i) => 'key:' + zipfOrder[i]);
    const read = readerFor(cache);
    let hits = 0;
    for (let i = 0; i < warm; i++) {
      const k = 'key:' + trace[i];
      if (read(k) < 0) cache.set(k, makeValue(trace[i], V));
      else hits++;
    }
    const x = { ...base(), cache, read, traceChunk: (round) => trace.subarray(warm + round * OPS, warm + (round + 1) * OPS) };
    return { s: x, info: { capacity: C, warm, warmHitRatio: hits / warm, entriesHeld: cache.size, traceChecksum: checksum(trace) } };
  },
};

let stateName = null;
async function freshCaches() {
  // set-cold: the previous round's caches are garbage now; collect them before the clock starts
  for (const c of s.fresh) c.close?.();
  s.fresh = [];
  gcFull();
  for (let i = coldFills(N, V, cfg.quick); i > 0; i--) s.fresh.push(await create('hold', N, seqKey));
}

// ---------- GC pauses during timed runs ----------
let pauses = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) pauses.push(e.duration);
}).observe({ entryTypes: ['gc'] });

serve({
  async hello() {
    if (arena?.unavailable) throw new Unavailable(arena.unavailable);
    gcFull();
    const emptyGc = [];
    for (let r = 0; r < 4; r++) {
      const t = performance.now();
      globalThis.gc();
      if (r) emptyGc.push(performance.now() - t);
    }
    return { lib: cfg.lib, from: arena?.from, forcedGcEmptyMs: summarize(emptyGc).median };
  },
  async setup({ scenario, rounds }) {
    const sc = scenarioById(scenario);
    if (stateName === sc.state && s) return { state: stateName, reused: true };
    drop();
    const { s: next, info } = await states[sc.state](rounds);
    s = next;
    stateName = sc.state;
    gcFull(); // the setup's garbage (traces, key arrays) is the bench's, not the library's
    return { state: stateName, info, sizing: arena ? Object.values(arena.sizing) : undefined };
  },
  async run({ scenario, round }) {
    const sc = scenarioById(scenario);
    if (sc.state === 'empty') await freshCaches();
    if (sc.id !== 'gc-full') {
      sc.id === 'zipf' ? s.traceChunk(round) : s.indices(round); // built before the clock starts
      if (sc.id === 'mixed') s.setMask(round);
    }
    pauses = [];
    const res = sc.run(s, round);
    await tick(); // let the gc observer deliver this run's pauses
    if (s.cache) res.size = s.cache.size;
    res.gcMs = sc.id === 'gc-full' ? 0 : pauses.reduce((a, x) => a + x, 0);
    res.gcMaxMs = sc.id === 'gc-full' ? 0 : Math.max(0, ...pauses);
    return res;
  },
  async drop() {
    drop();
    stateName = null;
    return {};
  },
});
