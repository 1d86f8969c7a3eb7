// The core section's scenarios: what each measures, which cache state it runs on, and its timed
// loop. The loops run inside one library's child process (core-child.mjs), which supplies `s`:
//   s.cache      the library's cache          s.N, s.V   entries and value bytes of the shape
//   s.keys       the key strings inserted (s.keys[i] === 'key:' + i, the very objects)
//   s.read(k)    a get that reads the value's first and last byte: returns their sum, -1 if absent
//   s.getMany(ks) ArenaCache.getMany, or a loop of get for the peers
//   s.next       the next never-inserted key number          s.fresh   empty caches (cold fill)
//   s.traceChunk(round)  this round's slice of the Zipf trace (zipf state)
//   s.indices(round), s.setMask(round)  seeded per round: every library sees the same operations
// Every loop builds what a server would build per request (the key string, a fresh value) inside
// the timed region, and reads what a server would send (the value's bytes); `sink` sums the bytes
// read, so the parent can check that every library returned the same values.

const now = () => performance.now();

/** A distinct value per entry: its first and last byte tell which entry it belongs to. */
export function makeValue(i, V) {
  const v = new Uint8Array(V);
  v[0] = i & 255;
  v[V - 1] = (i >>> 8) & 255;
  return v;
}

/**
 * Operations per timed run: long enough to time (≥ tens of ms on the fastest library), short
 * enough that a round of every library stays within seconds. Independent of the cache size: the
 * operations draw keys at random from it.
 */
export const opsPerRun = (quick) => (quick ? 100_000 : 250_000);

/**
 * Fresh caches a cold-fill run fills one after another: enough to reach about opsPerRun sets on a
 * small cache, one when a second copy of the cache would cost real memory (> 64 MiB).
 */
export const coldFills = (N, V, quick) => Math.max(1, Math.min(Math.ceil(opsPerRun(quick) / N), Math.floor((64 << 20) / (N * V))));

export const SCENARIOS = [
  {
    id: 'gc-full',
    label: 'forced full GC, cache full',
    short: 'forced full GC',
    state: 'memory',
    note: 'one gc() per round on a full cache; the ratio is lru-cache’s pause ÷ this one',
    run() {
      const t = now();
      globalThis.gc();
      return { ops: 1, ms: now() - t };
    },
  },
  {
    id: 'get-built',
    label: 'get hit, key built per call (the server case)',
    short: 'get, key built per call',
    state: 'filled',
    reads: true,
    sameSink: true,
    run(s, round) {
      const idx = s.indices(round);
      const read = s.read;
      let hits = 0;
      let sink = 0;
      const t = now();
      for (let i = 0; i < idx.length; i++) {
        const x = read('key:' + idx[i]);
        if (x >= 0) {
          hits++;
          sink += x;
        }
      }
      return { ops: idx.length, ms: now() - t, hits, sink };
    },
  },
  {
    id: 'get-same',
    label: 'get hit, the key objects that were inserted',
    short: 'get, inserted key objects',
    state: 'filled',
    reads: true,
    sameSink: true,
    note: 'a JS Map compares these by pointer and has their hash cached: not what a server sees',
    run(s, round) {
      const idx = s.indices(round);
      const keys = s.keys;
      const read = s.read;
      let hits = 0;
      let sink = 0;
      const t = now();
      for (let i = 0; i < idx.length; i++) {
        const x = read(keys[idx[i]]);
        if (x >= 0) {
          hits++;
          sink += x;
        }
      }
      return { ops: idx.length, ms: now() - t, hits, sink };
    },
  },
  {
    id: 'get-miss',
    label: 'get miss, key built per call',
    short: 'get miss',
    state: 'filled',
    sameSink: true,
    run(s, round) {
      const idx = s.indices(round);
      const read = s.read;
      const N = s.N;
      let hits = 0;
      const t = now();
      for (let i = 0; i < idx.length; i++) if (read('key:' + (N + idx[i])) >= 0) hits++;
      return { ops: idx.length, ms: now() - t, hits, sink: 0 };
    },
  },
  {
    id: 'get-many',
    label: 'getMany ×100 (peers: a loop of get), keys built per call',
    short: 'getMany ×100',
    state: 'filled',
    sameSink: true,
    run(s, round) {
      const idx = s.indices(round);
      const B = 100;
      const batch = new Array(B);
      const many = s.getMany;
      const nb = Math.floor(idx.length / B);
      let hits = 0;
      let sink = 0;
      const t = now();
      for (let b = 0; b < nb; b++) {
        for (let j = 0; j < B; j++) batch[j] = 'key:' + idx[b * B + j];
        const res = many(batch);
        for (let j = 0; j < B; j++) {
          const v = res[j];
          if (v !== undefined) {
            hits++;
            sink += v[0] + v[v.length - 1];
          }
        }
      }
      return { ops: nb * B, ms: now() - t, hits, sink };
    },
  },
  {
    id: 'mixed',
    label: '90/10 get/set, full cache (sets insert new keys and evict)',
    short: '90/10 get/set',
    state: 'steady',
    run(s, round) {
      // gets pick among the N most recently inserted keys; sets insert the next new key
      const idx = s.indices(round);
      const isSet = s.setMask(round);
      const c = s.cache;
      const read = s.read;
      const V = s.V;
      let next = s.next;
      let hits = 0;
      let gets = 0;
      let sink = 0;
      const t = now();
      for (let i = 0; i < idx.length; i++) {
        if (isSet[i]) {
          c.set('key:' + next, makeValue(next, V));
          next++;
        } else {
          gets++;
          const x = read('key:' + (next - 1 - idx[i]));
          if (x >= 0) {
            hits++;
            sink += x;
          }
        }
      }
      const ms = now() - t;
      s.next = next;
      return { ops: idx.length, ms, hits, sink, hitRatio: hits / gets };
    },
  },
  {
    id: 'set-steady',
    label: 'set, steady state (full cache, each set evicts)',
    short: 'set, steady state',
    state: 'steady',
    run(s, round) {
      const n = s.indices(round).length;
      const c = s.cache;
      const V = s.V;
      let next = s.next;
      const t = now();
      for (let i = 0; i < n; i++) {
        c.set('key:' + next, makeValue(next, V));
        next++;
      }
      const ms = now() - t;
      s.next = next;
      return { ops: n, ms };
    },
  },
  {
    id: 'set-cold',
    label: 'set, cold fill of a fresh cache (N new keys)',
    short: 'set, cold fill',
    state: 'empty',
    note: 'includes the first touch of fresh memory: for ArenaCache the kernel zero-fills each arena page on its first write',
    run(s) {
      const caches = s.fresh; // created (untimed) by the child before this round: one or a few
      const N = s.N;
      const V = s.V;
      const t = now();
      for (const c of caches) for (let i = 0; i < N; i++) c.set('key:' + i, makeValue(i, V));
      const ms = now() - t;
      return { ops: N * caches.length, ms, filled: caches[0].size };
    },
  },
  {
    id: 'zipf',
    label: 'Zipf(0.99) read-through at 10% capacity, warmed',
    short: 'Zipf read-through, 10%',
    state: 'zipf',
    reads: true,
    run(s, round) {
      const tr = s.traceChunk(round);
      const c = s.cache;
      const read = s.read;
      const V = s.V;
      let hits = 0;
      let sink = 0;
      const t = now();
      for (let i = 0; i < tr.length; i++) {
        const id = tr[i];
        const k = 'key:' + id;
        const x = read(k);
        if (x < 0) c.set(k, makeValue(id, V));
        else {
          hits++;
          sink += x;
        }
      }
      return { ops: tr.length, ms: now() - t, hits, sink, hitRatio: hits / tr.length };
    },
  },
];

export const scenarioById = (id) => SCENARIOS.find((s) => s.id === id);
