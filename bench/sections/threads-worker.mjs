// A worker of the threads section: runs 90/10 get/set rounds on one of
//   arena    — the shared ArenaCache (attached with the handle from the parent thread)
//   lru      — its own lru-cache holding its own copy of every entry
//   message  — a lru-cache on the parent thread, reached by postMessage (W requests in flight)
import { parentPort, workerData, threadId } from 'node:worker_threads';
import v8 from 'node:v8';
import { rng, uniformIndices } from '../lib/prng.mjs';

const { mode, entries: N, valueBytes: V, ops, seed, index, window: W, arenaFrom } = workerData;
const keys = new Array(N);
for (let i = 0; i < N; i++) keys[i] = 'key:' + i;
const idx = uniformIndices(ops, N, seed + 101 * (index + 1));
const r = rng(seed + 211 * (index + 1));
const isSet = new Uint8Array(ops);
for (let i = 0; i < ops; i++) isSet[i] = r() < 0.1 ? 1 : 0;
const pool = [];
for (let i = 0; i < 1024; i++) pool.push(new Uint8Array(V).fill(i & 255));

const heap = () => {
  const h = v8.getHeapStatistics();
  return h.used_heap_size + h.external_memory;
};

let cache = null;
let memoryBytes = 0;
if (mode === 'arena') {
  const { ArenaCache } = await import(arenaFrom);
  cache = await ArenaCache.attach(workerData.handle, { tag: threadId });
} else if (mode === 'lru') {
  const { LRUCache } = await import('lru-cache');
  globalThis.gc?.();
  const before = heap();
  cache = new LRUCache({ max: N });
  for (let i = 0; i < N; i++) {
    const v = new Uint8Array(V);
    v[0] = i;
    cache.set(keys[i], v);
  }
  globalThis.gc?.();
  memoryBytes = heap() - before;
}

function runLocal() {
  const c = cache;
  let hits = 0;
  for (let i = 0; i < ops; i++) {
    const k = keys[idx[i]];
    if (isSet[i]) c.set(k, pool[i & 1023]);
    else if (c.get(k) !== undefined) hits++;
  }
  return hits;
}

function runMessages() {
  return new Promise((resolve) => {
    let sent = 0;
    let done = 0;
    let hits = 0;
    const onMessage = (m) => {
      if (m.t !== 'res') return;
      done++;
      if (m.v !== undefined) hits++;
      if (sent < ops) send();
      else if (done === ops) {
        parentPort.off('message', onMessage);
        resolve(hits);
      }
    };
    const send = () => {
      const i = sent++;
      if (isSet[i]) parentPort.postMessage({ t: 's', id: i, k: keys[idx[i]], v: pool[i & 1023] });
      else parentPort.postMessage({ t: 'g', id: i, k: keys[idx[i]] });
    };
    parentPort.on('message', onMessage);
    for (let j = 0; j < Math.min(W, ops); j++) send();
  });
}

parentPort.on('message', async (m) => {
  if (m.t !== 'go') return;
  const start = performance.timeOrigin + performance.now();
  const hits = mode === 'message' ? await runMessages() : runLocal();
  const end = performance.timeOrigin + performance.now();
  parentPort.postMessage({ t: 'done', start, end, ops, hits });
});
parentPort.postMessage({ t: 'ready', memoryBytes });
