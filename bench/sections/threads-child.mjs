// One mode of the threads section, in its own process and alive for the whole section: it starts
// two workers once, and each call of `run` times one worker alone and then both (the order
// alternating by round), so the 2 ÷ 1 scaling is a ratio of two adjacent measurements.
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { loadArenaCache, sharedSupport, sizeArena } from '../lib/arena.mjs';
import { serve, progress, Unavailable } from '../lib/serve.mjs';
import { makeValue } from './core-scenarios.mjs';

const cfg = JSON.parse(process.argv[2]);
const WORKER = fileURLToPath(new URL('./threads-worker.mjs', import.meta.url));
const { mode, entries: N, valueBytes: V, seed } = cfg;
const ops = mode === 'message' ? cfg.messageOps : cfg.ops;
const gcFull = () => {
  globalThis.gc?.();
  globalThis.gc?.();
};

let shared = null; // { cache, handle }
let mainLru = null;
let arenaFrom = null;
const info = { mode, entries: N, valueBytes: V, opsPerWorker: ops };
let workers = [];

async function setup() {
  if (mode === 'arena') {
    const loaded = await loadArenaCache();
    if (!loaded.ok) throw new Unavailable(loaded.reason);
    const sup = sharedSupport(loaded.ArenaCache);
    if (!sup.ok) throw new Unavailable(sup.reason);
    arenaFrom = new URL(loaded.from.replace(/^dist\//, '../../dist/'), import.meta.url).href;
    progress(`sizing the shared arena to hold ${N} entries`);
    const sized = await sizeArena(loaded.ArenaCache, { target: N, keyOf: (i) => 'key:' + i, valueBytes: V, mode: 'hold' });
    shared = await loaded.ArenaCache.createShared({ ...sized.options, threads: 8 });
    progress(`filling the shared arena with ${N} entries`);
    for (let i = 0; i < N; i++) shared.cache.set('key:' + i, makeValue(i, V));
    info.memoryBytes = shared.cache.stats().memoryBytes;
    info.maxBytes = sized.maxBytes;
  } else if (mode === 'message') {
    const { LRUCache } = await import('lru-cache');
    gcFull();
    const m0 = process.memoryUsage();
    mainLru = new LRUCache({ max: N });
    for (let i = 0; i < N; i++) mainLru.set('key:' + i, makeValue(i, V));
    gcFull();
    const m1 = process.memoryUsage();
    info.memoryBytes = m1.heapUsed - m0.heapUsed + (m1.external - m0.external);
  }
  progress('starting 2 workers');
  const ready = [];
  for (let w = 0; w < 2; w++) {
    const worker = new Worker(WORKER, { workerData: { mode, entries: N, valueBytes: V, ops, seed, index: w, window: cfg.window, handle: shared?.handle, arenaFrom } });
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
  // lru: every worker holds its own copy; the memory for the data is their sum
  if (mode === 'lru') info.memoryBytes = readies.reduce((a, m) => a + m.memoryBytes, 0);
  return info;
}

/** All of `ws` start together; throughput = their ops ÷ (last finish − first start). */
async function together(ws) {
  const done = ws.map(
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
  for (const w of ws) w.postMessage({ t: 'go' });
  const res = await Promise.all(done);
  const ms = Math.max(...res.map((x) => x.end)) - Math.min(...res.map((x) => x.start));
  return { ops: res.reduce((a, x) => a + x.ops, 0), ms, hits: res.reduce((a, x) => a + x.hits, 0) };
}

serve({
  hello: async () => ({ mode }),
  setup,
  async run({ round }) {
    const first = round % 2 === 0;
    const one = first ? await together(workers.slice(0, 1)) : null;
    const two = await together(workers);
    const lone = first ? one : await together(workers.slice(0, 1));
    return { ...two, one: lone };
  },
  async close() {
    await Promise.all(
      workers.map(async (w) => {
        const tag = w.threadId;
        await w.terminate();
        shared?.cache.releaseThread(tag);
      }),
    );
    workers = [];
    shared?.cache.close();
    return {};
  },
});
