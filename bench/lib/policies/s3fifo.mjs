// S3-FIFO (Yang et al., SOSP'23), byte-budgeted, as libCacheSim's S3FIFO.c runs it: a small FIFO S
// (a fraction of the bytes) that new keys enter, a main FIFO M, and a ghost of keys evicted from S.
// Hits bump a counter capped at 3 and move nothing.
// - insert: key in the ghost → head of M, else head of S (counter 0);
// - make room: evict from M if M is over its share or S is empty, else from S;
// - evict from S: tail counter ≥ `threshold` → move to M's head (counter reset to 0), else evict
//   it and remember it in the ghost;
// - evict from M: tail counter > 0 → re-append at M's head with counter − 1, else evict.
// `threshold` 2 is libCacheSim's default (move-to-main-threshold=2: hit twice while in S); 1 is
// "hit at least once", as the paper's prose describes it. Both are evaluated.
// `maxReinserts` (K) bounds the S→M moves or M re-appends one eviction may do (each is a copy in a
// log); after K the tail is evicted regardless (from S: into the ghost).
// One deliberate difference from libCacheSim: an entry larger than S's share is still admitted
// (S is over its share until the next eviction, which then takes from S). libCacheSim refuses it,
// which never caches such an object at all and, with tiny segments (web12 at 1% over 16 segments
// is 8 entries a segment, S = 0 bytes), refuses everything.
//
// Same conventions as lru.mjs.
import { Ring } from './ring.mjs';
import { ExactGhost, ApproxGhost } from './ghost.mjs';

export class S3Fifo {
  constructor({ capacity, universe, small = 0.1, ghost = 'exact', meanSize = 1, threshold = 2, maxReinserts = Infinity, seed, onEvict = null }) {
    this.capacity = capacity;
    this.sCap = Math.floor(capacity * small);
    this.mCap = capacity - this.sCap;
    this.threshold = threshold;
    this.maxReinserts = maxReinserts;
    this.onEvict = onEvict;
    this.s = new Ring(1 << 10);
    this.m = new Ring(Math.min(universe, 1 << 16));
    // The approximate ghost gets one slot per entry M is expected to hold: its bytes over the mean
    // entry size (a core would size it at init from the same estimate).
    this.ghost = ghost === 'exact' ? new ExactGhost({ capacity: this.mCap, universe }) : new ApproxGhost({ slots: this.mCap / meanSize, seed });
    this.freq = new Uint8Array(universe);
    this.size = new Uint32Array(universe);
    this.where = new Uint8Array(universe); // 0 absent, 1 in S, 2 in M
    this.sUsed = 0;
    this.mUsed = 0;
    this.count = 0;
    this.evictions = 0;
    this.reinserts = 0;
    this.reinsertedBytes = 0;
    this.maxReinsertRun = 0; // most S→M moves or M re-appends one eviction did
    this.ghostHits = 0;
  }

  get used() {
    return this.sUsed + this.mUsed;
  }

  has(key) {
    return this.where[key] !== 0;
  }

  get(key) {
    if (!this.where[key]) return false;
    if (this.freq[key] < 3) this.freq[key]++;
    return true;
  }

  set(key, size) {
    if (this.where[key]) throw new Error(`set(${key}): key present (replay sets only after a miss)`);
    if (size > this.capacity) return false;
    const toMain = this.ghost.take(key);
    if (toMain) this.ghostHits++;
    while (this.sUsed + this.mUsed + size > this.capacity) {
      if (this.mUsed > this.mCap || this.sUsed === 0) this.evictMain();
      else this.evictSmall();
    }
    this.freq[key] = 0;
    this.size[key] = size;
    this.count++;
    if (toMain) {
      this.where[key] = 2;
      this.mUsed += size;
      this.m.push(key);
    } else {
      this.where[key] = 1;
      this.sUsed += size;
      this.s.push(key);
    }
    return true;
  }

  evictSmall() {
    let moved = 0;
    for (; this.s.length > 0; moved++) {
      const k = this.s.pop();
      const sz = this.size[k];
      this.sUsed -= sz;
      if (this.freq[k] >= this.threshold && moved < this.maxReinserts) {
        this.freq[k] = 0;
        this.where[k] = 2;
        this.mUsed += sz;
        this.m.push(k);
        this.reinserts++;
        this.reinsertedBytes += sz;
        continue;
      }
      this.ghost.add(k, sz);
      this.drop(k);
      break;
    }
    this.noteRun(moved);
  }

  evictMain() {
    let moved = 0;
    for (; this.m.length > 0; moved++) {
      const k = this.m.pop();
      if (this.freq[k] > 0 && moved < this.maxReinserts) {
        this.freq[k]--;
        this.m.push(k);
        this.reinserts++;
        this.reinsertedBytes += this.size[k];
        continue;
      }
      this.mUsed -= this.size[k];
      this.drop(k);
      break;
    }
    this.noteRun(moved);
  }

  noteRun(moved) {
    if (moved > this.maxReinsertRun) this.maxReinsertRun = moved;
  }

  drop(k) {
    this.where[k] = 0;
    this.count--;
    this.evictions++;
    this.onEvict?.(k);
  }

  /** { small, main }: keys from tail to head of each queue (tests). */
  order() {
    return { small: this.s.toArray(), main: this.m.toArray() };
  }
}
