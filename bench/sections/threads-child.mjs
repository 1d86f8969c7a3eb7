// One mode of the threads section, in its own process: spawns 1 then 2 workers and times rounds.
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { loadArenaCache, sharedSupport, sizeArena } from '../lib/arena.mjs';
import { summarize } from '../lib/stats.mjs';

const cfg = JSON.parse(process.argv[2]);
const send = (m) => process.send?.(m);
const step = (text) => send({ type: 'progress', text });
const WORKER = fileURLToPath(new URL('./threads-worker.mjs', import.meta.url));
const { mode, entries: N, valueBytes: V, reps, warmup, seed } = cfg;
const gcFull = () => {
  globalThis.gc?.();
  globalThis.gc?.();
};
const out = { mode, entries: N, valueBytes: V, byWorkers: {} };

let shared = null; // { cache, handle, memoryBytes }
let mainLru = null;
let arenaFrom = null;
if (mode === 'arena') {
  const loaded = await loadArenaCache();
  if (!loaded.ok) {
    send({ type: 'unavailable', reason: loaded.reason });
    process.exit(0);
  }
  const sup = sharedSupport(loaded.ArenaCache);
  if (!sup.ok) {
    send({ type: 'unavailable', reason: sup.reason });
    process.exit(0);
  }
  arenaFrom = new URL(loaded.from.replace(/^dist\//, '../../dist/'), import.meta.url).href;
  step(`sizing the shared arena to hold ${N} entries`);
  const sized = await sizeArena(loaded.ArenaCache, { target: N, keyOf: (i) => 'key:' + i, valueBytes: V, mode: 'hold' });
  const { cache, handle } = await loaded.ArenaCache.createShared({ maxBytes: sized.maxBytes, threads: 8 });
  step(`filling the shared arena with ${N} entries`);
  for (let i = 0; i < N; i++) {
    const v = new Uint8Array(V);
    v[0] = i;
    cache.set('key:' + i, v);
  }
  shared = { cache, handle };
  out.memoryBytes = cache.stats().memoryBytes;
  out.entriesHeld = cache.size;
  out.maxBytes = sized.maxBytes;
} else if (mode === 'message') {
  const { LRUCache } = await import('lru-cache');
  gcFull();
  const m0 = process.memoryUsage();
  mainLru = new LRUCache({ max: N });
  for (let i = 0; i < N; i++) {
    const v = new Uint8Array(V);
    v[0] = i;
    mainLru.set('key:' + i, v);
  }
  gcFull();
  const m1 = process.memoryUsage();
  out.memoryBytes = m1.heapUsed - m0.heapUsed + (m1.external - m0.external);
}

for (const count of cfg.workers) {
  const ops = mode === 'message' ? cfg.messageOps : cfg.ops;
  step(`${count} worker(s): starting`);
  const workers = [];
  const ready = [];
  for (let w = 0; w < count; w++) {
    const worker = new Worker(WORKER, {
      workerData: { mode, entries: N, valueBytes: V, ops, seed, index: w, window: cfg.window, handle: shared?.handle, arenaFrom },
    });
    workers.push(worker);
    ready.push(
      new Promise((resolve, reject) => {
        worker.once('error', reject);
        const onReady = (m) => {
          if (m.t === 'ready') {
            worker.off('message', onReady);
            resolve(m);
          }
        };
        worker.on('message', onReady);
      }),
    );
    if (mode === 'message') {
      worker.on('message', (m) => {
        if (m.t === 'g') worker.postMessage({ t: 'res', id: m.id, v: mainLru.get(m.k) });
        else if (m.t === 's') {
          mainLru.set(m.k, m.v);
          worker.postMessage({ t: 'res', id: m.id });
        }
      });
    }
  }
  const readies = await Promise.all(ready);
  const rounds = [];
  for (let r = 0; r < warmup + reps; r++) {
    step(`${count} worker(s): ${r < warmup ? 'warm-up' : `rep ${r - warmup + 1}/${reps}`} (${ops} ops each)`);
    const done = workers.map(
      (w) =>
        new Promise((resolve) => {
          const f = (m) => {
            if (m.t === 'done') {
              w.off('message', f);
              resolve(m);
            }
          };
          w.on('message', f);
        }),
    );
    for (const w of workers) w.postMessage({ t: 'go' });
    const res = await Promise.all(done);
    const wall = Math.max(...res.map((x) => x.end)) - Math.min(...res.map((x) => x.start));
    if (r >= warmup) rounds.push(((count * ops) / wall) * 1000);
  }
  await Promise.all(
    workers.map(async (w) => {
      const tag = w.threadId;
      await w.terminate();
      if (shared) shared.cache.releaseThread(tag);
    }),
  );
  out.byWorkers[count] = {
    opsPerSec: summarize(rounds),
    opsPerWorker: ops,
    workerMemoryBytes: readies.reduce((a, m) => a + m.memoryBytes, 0),
  };
}
shared?.cache.close();
process.send({ type: 'result', data: out }, () => process.exit(0));
