// Seeded PRNG, permutations and a Zipf(θ) generator, so every library sees the same trace.

/** sfc32 seeded through splitmix32: fast, 32-bit, good enough for workloads. Returns [0,1). */
export function rng(seed) {
  let s = seed >>> 0;
  const split = () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = split(), b = split(), c = split(), d = split();
  const next = () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t;
  };
  const f = () => next() / 4294967296;
  f.u32 = next;
  return f;
}

/** A seeded random permutation of 0..n-1. */
export function permutation(n, seed) {
  const r = rng(seed);
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    const t = p[i]; p[i] = p[j]; p[j] = t;
  }
  return p;
}

/** `length` uniform random indices in [0, n). */
export function uniformIndices(length, n, seed) {
  const r = rng(seed);
  const out = new Uint32Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(r() * n);
  return out;
}

/**
 * Zipf(θ) trace over n items (Gray et al. / YCSB ZipfianGenerator), ranks scrambled by a seeded
 * permutation so hot keys are spread over the key space (and over hash segments).
 */
export function zipfTrace(length, n, theta, seed) {
  const r = rng(seed);
  let zetan = 0;
  for (let i = 1; i <= n; i++) zetan += 1 / Math.pow(i, theta);
  const zeta2 = 1 + 1 / Math.pow(2, theta);
  const alpha = 1 / (1 - theta);
  const eta = (1 - Math.pow(2 / n, 1 - theta)) / (1 - zeta2 / zetan);
  const half = 1 + Math.pow(0.5, theta);
  const perm = permutation(n, seed ^ 0x5bd1e995);
  const out = new Uint32Array(length);
  for (let i = 0; i < length; i++) {
    const u = r();
    const uz = u * zetan;
    let rank;
    if (uz < 1) rank = 0;
    else if (uz < half) rank = 1;
    else rank = Math.min(n - 1, Math.floor(n * Math.pow(eta * u - eta + 1, alpha)));
    out[i] = perm[rank];
  }
  return out;
}

/** FNV-1a over a Uint32Array, as hex: proves two processes used the same trace. */
export function checksum(u32) {
  let h = 0x811c9dc5;
  for (let i = 0; i < u32.length; i++) {
    let x = u32[i];
    for (let k = 0; k < 4; k++) {
      h ^= x & 0xff;
      h = Math.imul(h, 0x01000193);
      x >>>= 8;
    }
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

/**
 * Exact hit count of a strict LRU of `capacity` on `trace` of ids in [0, n), counting only the
 * accesses from index `countFrom` on (the ones before warm the cache): an O(1) linked list over
 * typed arrays (reference for the hit-ratio check; no Map, so it stays linear).
 */
export function strictLruHits(trace, capacity, n, countFrom = 0) {
  const slot = new Int32Array(n).fill(-1);
  const keyOf = new Int32Array(capacity);
  const prev = new Int32Array(capacity);
  const next = new Int32Array(capacity);
  let head = -1, tail = -1, size = 0, hits = 0;
  const unlink = (s) => {
    if (prev[s] >= 0) next[prev[s]] = next[s]; else head = next[s];
    if (next[s] >= 0) prev[next[s]] = prev[s]; else tail = prev[s];
  };
  const pushFront = (s) => {
    prev[s] = -1; next[s] = head;
    if (head >= 0) prev[head] = s; else tail = s;
    head = s;
  };
  for (let i = 0; i < trace.length; i++) {
    const k = trace[i];
    const s = slot[k];
    if (s >= 0) {
      if (i >= countFrom) hits++;
      if (s !== head) { unlink(s); pushFront(s); }
    } else {
      let t;
      if (size < capacity) t = size++;
      else { t = tail; unlink(t); slot[keyOf[t]] = -1; }
      keyOf[t] = k; slot[k] = t; pushFront(t);
    }
  }
  return hits;
}
