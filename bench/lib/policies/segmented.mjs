// N independent caches, each with 1/N of the byte budget, keys assigned by a seeded hash — what
// the core's segments do (there FNV-1a of the key bytes picks the segment). Comparing 1 vs 16
// segments shows what segmentation costs in hit ratio; varying the seed shows the noise of one
// particular key→segment assignment.
import { hash32 } from './hash.mjs';

const assignments = new Map(); // `${universe}/${segments}/${seed}` → { seg, local, sizes, global }

/**
 * Which segment each key lands in and its dense index inside that segment (so each segment's
 * arrays are sized to its own keys, not the whole universe). Memoized: a sweep reuses it.
 */
export function assignment(universe, segments, seed, hashOf = null) {
  const id = `${universe}/${segments}/${seed}`;
  let a = hashOf ? null : assignments.get(id);
  if (a) return a;
  if (segments < 1 || segments > 256 || (segments & (segments - 1)) !== 0) throw new RangeError(`segments must be a power of two ≤ 256, got ${segments}`);
  const shift = 32 - Math.log2(segments);
  const seg = new Uint8Array(universe);
  const local = new Int32Array(universe);
  const sizes = new Int32Array(segments);
  for (let k = 0; k < universe; k++) {
    const s = segments === 1 ? 0 : (hashOf ? hashOf(k) : hash32(k, seed)) >>> shift; // top bits, as the core does
    seg[k] = s;
    local[k] = sizes[s]++;
  }
  const global = Array.from(sizes, (n) => new Int32Array(n));
  for (let k = 0; k < universe; k++) global[seg[k]][local[k]] = k;
  a = { seg, local, sizes, global };
  if (hashOf) return a;
  if (assignments.size > 16) assignments.clear();
  assignments.set(id, a);
  return a;
}

export class Segmented {
  /**
   * `create({ capacity, universe, seed, onEvict })` builds one segment's policy; every segment gets
   * floor(capacity / segments) bytes. `onEvict(key)` receives global keys. `hashOf(key)`, if given,
   * replaces the seeded hash (e.g. the core's FNV-1a of the key's bytes, to replay it exactly).
   */
  constructor({ capacity, universe, segments = 16, seed = 0x811c9dc5, hashOf = null, create, onEvict = null }) {
    const a = assignment(universe, segments, seed, hashOf);
    this.seg = a.seg;
    this.local = a.local;
    this.segmentCapacity = Math.floor(capacity / segments);
    this.parts = Array.from(a.sizes, (n, i) =>
      create({
        capacity: this.segmentCapacity,
        universe: Math.max(1, n),
        seed: (seed + i * 0x9e3779b9) >>> 0,
        onEvict: onEvict ? (k) => onEvict(a.global[i][k]) : null,
      }),
    );
  }

  has(key) {
    return this.parts[this.seg[key]].has(this.local[key]);
  }

  get(key) {
    return this.parts[this.seg[key]].get(this.local[key]);
  }

  set(key, size) {
    return this.parts[this.seg[key]].set(this.local[key], size);
  }

  sum(field) {
    let t = 0;
    for (const p of this.parts) t += p[field];
    return t;
  }

  get used() { return this.sum('used'); }
  get count() { return this.sum('count'); }
  get evictions() { return this.sum('evictions'); }
  get reinserts() { return this.sum('reinserts'); }
  get reinsertedBytes() { return this.sum('reinsertedBytes'); }
  get maxReinsertRun() { return Math.max(...this.parts.map((p) => p.maxReinsertRun ?? 0)); }
}
