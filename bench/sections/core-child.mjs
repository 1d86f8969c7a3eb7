// One library, one shape (entries × value bytes), in its own process (clean heap and JIT).
// Started by sections/core.mjs with --expose-gc; reports progress and one result over IPC.
import { PerformanceObserver } from 'node:perf_hooks';
import { PEERS, ARENA } from '../lib/peers.mjs';
import { loadArenaCache, sizeArena } from '../lib/arena.mjs';
import { rng, permutation, uniformIndices, zipfTrace, checksum, strictLruHits } from '../lib/prng.mjs';
import { summarize, percentile } from '../lib/stats.mjs';

const cfg = JSON.parse(process.argv[2]);
const send = (m) => (process.send ? process.send(m) : process.stderr.write(JSON.stringify(m) + '\n'));
const step = (text) => send({ type: 'progress', text });
const now = () => performance.now();

if (typeof globalThis.gc !== 'function') throw new Error('core-child needs --expose-gc');
const gcFull = () => {
  globalThis.gc();
  globalThis.gc();
};
const mem = () => {
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, rss: m.rss };
};
const tick = () => new Promise((r) => setTimeout(r, 20));

const { lib, entries: N, valueBytes: V, reps, warmup, seed } = cfg;
const result = { lib, entries: N, valueBytes: V, reps, warmup, notes: [] };

// ---------- the cache factory for this library ----------
let create; // async (capacity, mode: 'hold' | 'capacity') => cache
let isArena = false;
if (lib === ARENA.id) {
  const loaded = await loadArenaCache();
  if (!loaded.ok) {
    send({ type: 'unavailable', reason: loaded.reason });
    process.exit(0);
  }
  isArena = true;
  const { ArenaCache } = loaded;
  result.from = loaded.from;
  const sized = {};
  const K = N;
  const perm = permutation(K, seed ^ 0x1234);
  create = async (capacity, mode) => {
    const key = `${mode}:${capacity}`;
    if (!sized[key]) {
      step(`sizing ArenaCache to ${mode === 'hold' ? 'hold' : 'a capacity of'} ${capacity} entries`);
      const keyOf = mode === 'hold' ? (i) => 'key:' + i : (i) => 'key:' + perm[i];
      sized[key] = await sizeArena(ArenaCache, { target: capacity, keyOf, valueBytes: V, mode, onStep: (s) => step(`sizing ArenaCache (${mode} ${capacity}): maxBytes ${s.maxBytes} → ${s.entries ?? s.error} entries`) });
      gcFull();
    }
    return ArenaCache.create({ maxBytes: sized[key].maxBytes });
  };
  result.sizing = sized;
} else {
  const peer = PEERS.find((p) => p.id === lib);
  if (!peer) throw new Error('unknown library ' + lib);
  create = (capacity) => peer.create(capacity);
}

// ---------- helpers ----------
// the warm-up does a quarter of the work (at least 100k ops, at most all): enough for the JIT,
// and it keeps the full run short
const warmOps = (n) => Math.min(n, Math.max(n >> 2, 100_000));
async function repeat(name, fn) {
  const runs = [];
  for (let r = 0; r < warmup + reps; r++) {
    const warm = r < warmup;
    step(`${name} ${warm ? 'warm-up' : `rep ${r - warmup + 1}/${reps}`}`);
    const x = await fn(warm);
    if (!warm) runs.push(x);
  }
  return runs;
}

let keyBytesTotal = 0;
for (let i = 0; i < N; i++) keyBytesTotal += Buffer.byteLength('key:' + i);
const keyBytesAvg = keyBytesTotal / N;
result.payloadPerEntry = keyBytesAvg + V;

// ---------- phase A: memory, forced GC, GC pauses under 90/10 on a full cache ----------
{
  gcFull();
  const emptyGc = [];
  for (let r = 0; r < 1 + reps; r++) {
    const t = now();
    globalThis.gc();
    if (r) emptyGc.push(now() - t);
  }
  result.forcedGcEmptyMs = summarize(emptyGc);

  gcFull();
  const m0 = mem();
  let cache = await create(N, 'hold');
  if (isArena) {
    // the sizing runs above allocated arenas of their own: collect them before the baseline
    cache = null;
    gcFull();
    Object.assign(m0, mem());
    cache = await create(N, 'hold');
  }
  step(`fill ${N} entries (fresh keys and values) for memory`);
  const tf = now();
  for (let i = 0; i < N; i++) {
    const v = new Uint8Array(V);
    v[0] = i;
    v[V - 1] = i >>> 8;
    cache.set('key:' + i, v);
  }
  result.fillMs = now() - tf;
  gcFull();
  await tick();
  gcFull();
  const m1 = mem();
  const size = cache.size;
  const d = { heapUsed: m1.heapUsed - m0.heapUsed, external: m1.external - m0.external, arrayBuffers: m1.arrayBuffers - m0.arrayBuffers, rss: m1.rss - m0.rss };
  // arrayBuffers is a part of external: never add both. A non-shared wasm memory shows in external.
  let total = d.heapUsed + d.external;
  const memory = { entries: size, delta: d, totalBytes: total };
  if (isArena) {
    const st = cache.stats();
    memory.arena = { memoryBytes: st.memoryBytes, bytesUsed: st.bytesUsed, bytesUsedPerEntry: st.bytesUsed / size, evictions: st.evictions };
    if (Number.isFinite(st.memoryBytes) && d.external < st.memoryBytes * 0.9) {
      total += st.memoryBytes;
      memory.totalBytes = total;
      memory.wasmAddedExplicitly = true;
      result.notes.push('wasm memory did not show in process external memory: added stats().memoryBytes explicitly');
    }
  }
  memory.bytesPerEntry = total / size;
  memory.rssPerEntry = d.rss / size;
  memory.overPayload = memory.bytesPerEntry / result.payloadPerEntry;
  result.memory = memory;
  if (size !== N) result.notes.push(`memory fill kept ${size} of ${N} entries`);

  step('forced full GC with the cache full');
  const fullGc = [];
  for (let r = 0; r < 1 + reps; r++) {
    const t = now();
    globalThis.gc();
    if (r) fullGc.push(now() - t);
  }
  result.forcedGcFullMs = summarize(fullGc);
  result.forcedGcFullMaxMs = Math.max(...fullGc);

  // 90/10 get/set on the full cache: gets of random present keys (built per call), sets of new
  // keys with fresh values (each evicts the least recent entry).
  const W = cfg.mixOps;
  const B = 1000;
  const idx = uniformIndices(W, N, seed + 7);
  const r = rng(seed + 8);
  const isSet = new Uint8Array(W);
  for (let i = 0; i < W; i++) isSet[i] = r() < 0.1 ? 1 : 0;
  const pauses = [];
  const kinds = {};
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      pauses.push(e.duration);
      const k = e.detail?.kind ?? e.kind;
      kinds[k] = (kinds[k] ?? 0) + 1;
    }
  });
  gcFull();
  await tick();
  obs.observe({ entryTypes: ['gc'] });
  step(`90/10 get/set on the full cache, ${W} ops`);
  const lat = new Float64Array(Math.floor(W / B));
  let next = N;
  let hits = 0;
  let sink = 0;
  const t0 = now();
  for (let b = 0; b < lat.length; b++) {
    const tb = now();
    for (let i = b * B, e = i + B; i < e; i++) {
      if (isSet[i]) {
        const v = new Uint8Array(V);
        v[0] = next;
        cache.set('key:' + next++, v);
      } else {
        const v = cache.get('key:' + idx[i]);
        if (v !== undefined) {
          hits++;
          sink += v[0];
        }
      }
    }
    lat[b] = now() - tb;
  }
  const mixMs = now() - t0;
  await tick();
  await tick();
  obs.disconnect();
  const opsDone = lat.length * B;
  result.mix = {
    ops: opsDone,
    opsPerSec: (opsDone / mixMs) * 1000,
    hitRatio: hits / (opsDone - isSet.subarray(0, opsDone).reduce((a, x) => a + x, 0)),
    batchOps: B,
    batchP50Ms: percentile(lat, 50),
    batchP99Ms: percentile(lat, 99),
    batchMaxMs: Math.max(...lat),
    gc: {
      count: pauses.length,
      totalMs: pauses.reduce((a, x) => a + x, 0),
      p99Ms: pauses.length ? percentile(pauses, 99) : 0,
      maxMs: pauses.length ? Math.max(...pauses) : 0,
      byKind: kinds,
    },
    sink,
  };
  cache.close?.();
  cache = null;
  gcFull();
}

// ---------- phase B: throughput ----------
const keys = new Array(N);
for (let i = 0; i < N; i++) keys[i] = 'key:' + i;
let P = 1;
while (P * 2 <= Math.min(N, 65536, Math.floor((64 << 20) / V))) P *= 2;
const mask = P - 1;
const pool = new Array(P);
for (let i = 0; i < P; i++) {
  const v = new Uint8Array(V);
  for (let j = 0; j < V; j += 64) v[j] = (i + j) & 255;
  v[V - 1] = i & 255;
  pool[i] = v;
}
result.valuePool = P;

let cache = null;
const drop = () => {
  cache?.close?.();
  cache = null;
  globalThis.gc();
};
const runSet = (built) => async (warm) => {
  drop();
  const c = (cache = await create(N, 'hold'));
  const n = warm ? warmOps(N) : N;
  const t = now();
  if (built) for (let i = 0; i < n; i++) c.set('key:' + i, pool[i & mask]);
  else for (let i = 0; i < n; i++) c.set(keys[i], pool[i & mask]);
  const ms = now() - t;
  if (cache.size !== n) result.notes.push(`set kept ${cache.size} of ${n}`);
  return (n / ms) * 1000;
};
result.setPrebuilt = summarize(await repeat('set (prebuilt keys)', runSet(false)));
result.setBuilt = summarize(await repeat('set (keys built per call)', runSet(true)));

const order = uniformIndices(N, N, seed + 1);
const runGet = (built) => async (warm) => {
  const c = cache;
  const n = warm ? warmOps(N) : N;
  let hits = 0;
  let sink = 0;
  const t = now();
  if (built) {
    for (let i = 0; i < n; i++) {
      const v = c.get('key:' + order[i]);
      if (v !== undefined) {
        hits++;
        sink += v.length;
      }
    }
  } else {
    for (let i = 0; i < n; i++) {
      const v = c.get(keys[order[i]]);
      if (v !== undefined) {
        hits++;
        sink += v.length;
      }
    }
  }
  const ms = now() - t;
  if (hits !== n) result.notes.push(`get: ${n - hits} misses of ${n} (expected all hits)`);
  return (n / ms) * 1000 + 0 * sink;
};
gcFull();
result.getPrebuilt = summarize(await repeat('get uniform (prebuilt keys)', runGet(false)));
result.getBuilt = summarize(await repeat('get uniform (keys built per call)', runGet(true)));

// getMany: batches of prebuilt keys; ArenaCache.getMany vs a loop of get() for the others
const BATCH = cfg.batch;
const batch = new Array(BATCH);
const out = new Array(BATCH);
const hasGetMany = isArena && typeof cache.getMany === 'function'; // tiny-lru's getMany returns an object: not the same call
result.getManyNative = hasGetMany;
const runBatches = (timeEach, warm = false) => {
  const c = cache;
  const nb = Math.floor((warm ? warmOps(N) : N) / BATCH);
  const lat = timeEach ? new Float64Array(nb) : null;
  let found = 0;
  const t = now();
  for (let b = 0; b < nb; b++) {
    const base = b * BATCH;
    for (let j = 0; j < BATCH; j++) batch[j] = keys[order[base + j]];
    const tb = timeEach ? now() : 0;
    let res;
    if (hasGetMany) res = c.getMany(batch);
    else {
      for (let j = 0; j < BATCH; j++) out[j] = c.get(batch[j]);
      res = out;
    }
    if (timeEach) lat[b] = now() - tb;
    for (let j = 0; j < BATCH; j++) if (res[j] !== undefined) found++;
  }
  const ms = now() - t;
  return { keysPerSec: ((nb * BATCH) / ms) * 1000, lat, found };
};
result.getMany = summarize(await repeat(`getMany batches of ${BATCH}`, async (warm) => runBatches(false, warm).keysPerSec));
step(`getMany batches of ${BATCH}: latency pass`);
{
  const { lat } = runBatches(true);
  result.getManyLatency = { batch: BATCH, p50Us: percentile(lat, 50) * 1000, p99Us: percentile(lat, 99) * 1000, maxUs: Math.max(...lat) * 1000 };
}
if (isArena) {
  const st = cache.stats();
  result.arenaStatsAfterGets = { hits: st.hits, misses: st.misses, evictions: st.evictions, entries: st.entries ?? cache.size };
}
drop();

// Zipf(θ) with capacity at a fraction of the key space, read-through (miss → set)
{
  const z = cfg.zipf;
  const K = N;
  const C = Math.round(K * z.capacityFraction);
  const L = Math.round(K * z.lengthFactor);
  step(`generating Zipf(${z.theta}) trace of ${L} over ${K} keys`);
  const trace = zipfTrace(L, K, z.theta, seed + 3);
  const refHits = strictLruHits(trace, C, K);
  result.zipf = { theta: z.theta, keyspace: K, capacity: C, length: L, traceChecksum: checksum(trace), strictLruHitRatio: refHits / L };
  const hitsSeen = [];
  const sizes = [];
  const runs = await repeat(`Zipf(${z.theta}) read-through, capacity ${C}`, async (warm) => {
    drop();
    const c = (cache = await create(C, 'capacity'));
    const n = warm ? warmOps(L) : L;
    let hits = 0;
    const t = now();
    for (let i = 0; i < n; i++) {
      const id = trace[i];
      const k = keys[id];
      if (c.get(k) === undefined) c.set(k, pool[id & mask]);
      else hits++;
    }
    const ms = now() - t;
    if (!warm) {
      hitsSeen.push(hits);
      sizes.push(cache.size);
    }
    return (n / ms) * 1000;
  });
  result.zipf.opsPerSec = summarize(runs);
  result.zipf.hitRatio = hitsSeen[hitsSeen.length - 1] / L;
  result.zipf.hitRatioRuns = hitsSeen.map((h) => h / L);
  result.zipf.entriesHeld = sizes[sizes.length - 1];
  drop();
}

if (process.send) process.send({ type: 'result', data: result }, () => process.exit(0));
else send({ type: 'result', data: result });
