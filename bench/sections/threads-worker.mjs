// A worker of the threads section: runs 90/10 get/set rounds on one of
//   arena    — the shared ArenaCache (attached with the handle from the parent thread)
//   lru      — its own lru-cache holding its own copy of every entry
//   message  — a lru-cache on the parent thread, reached by postMessage (W requests in flight)
// As in the core section: the key string is built per operation, every set stores a fresh value,
// and every get reads the value's first and last byte.
import { parentPort, workerData, threadId } from 'node:worker_threads';
import v8 from 'node:v8';
import { rng, uniformIndices } from '../lib/prng.mjs';
import { makeValue } from './core-scenarios.mjs';

const { mode, entries: N, valueBytes: V, ops, seed, index, window: W, arenaFrom } = workerData;
const idx = uniformIndices(ops, N, seed + 101 * (index + 1));
const r = rng(seed + 211 * (index + 1));
const isSet = new Uint8Array(ops);
for (let i = 0; i < ops; i++) isSet[i] = r() < 0.1 ? 1 : 0;

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
  for (let i = 0; i < N; i++) cache.set('key:' + i, makeValue(i, V));
  globalThis.gc?.();
  memoryBytes = heap() - before;
}

function runLocal() {
  const c = cache;
  let hits = 0;
  let sink = 0;
  for (let i = 0; i < ops; i++) {
    const k = 'key:' + idx[i];
    if (isSet[i]) c.set(k, makeValue(idx[i], V));
    else {
      const v = c.get(k);
      if (v !== undefined) {
        hits++;
        sink += v[0] + v[v.length - 1];
      }
    }
  }
  return { hits, sink };
}

function runMessages() {
  return new Promise((resolve) => {
    let sent = 0;
    let done = 0;
    let hits = 0;
    let sink = 0;
    const onMessage = (m) => {
      if (m.t !== 'res') return;
      done++;
      if (m.v !== undefined) {
        hits++;
        sink += m.v[0] + m.v[m.v.length - 1];
      }
      if (sent < ops) send();
      else if (done === ops) {
        parentPort.off('message', onMessage);
        resolve({ hits, sink });
      }
    };
    const send = () => {
      const i = sent++;
      if (isSet[i]) parentPort.postMessage({ t: 's', id: i, k: 'key:' + idx[i], v: makeValue(idx[i], V) });
      else parentPort.postMessage({ t: 'g', id: i, k: 'key:' + idx[i] });
    };
    parentPort.on('message', onMessage);
    for (let j = 0; j < Math.min(W, ops); j++) send();
  });
}

parentPort.on('message', async (m) => {
  if (m.t !== 'go') return;
  const start = performance.timeOrigin + performance.now();
  const res = mode === 'message' ? await runMessages() : runLocal();
  const end = performance.timeOrigin + performance.now();
  parentPort.postMessage({ t: 'done', start, end, ops, ...res });
});
parentPort.postMessage({ t: 'ready', memoryBytes });
