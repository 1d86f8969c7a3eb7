// CLOCK as the log-structured core would run it: FIFO with reinsertion ("second chance") over a
// circular log. A hit only bumps a small counter in the entry (no links written). At eviction the
// tail entry goes if its counter is 0; otherwise the counter is decremented and the entry is
// re-appended at the head (in a log: copied), and the next tail is examined.
//
// Knobs:
// - `bits`: counter width. 1 = a visited bit (classic CLOCK); 2 = a counter capped at 3, so an
//   entry hit several times survives several passes (closer to LFU-ish aging).
// - `maxReinserts` (K): at most K re-appends per eviction, then the tail goes regardless. Bounds
//   the work (bytes copied) of one insert; K = Infinity is libCacheSim's Clock.
//
// Same conventions as lru.mjs (dense integer keys, byte budget, set only when absent).
import { Ring } from './ring.mjs';

export class Clock {
  constructor({ capacity, universe, bits = 1, maxReinserts = Infinity, onEvict = null }) {
    if (bits !== 1 && bits !== 2) throw new RangeError(`bits must be 1 or 2, got ${bits}`);
    this.capacity = capacity;
    this.maxFreq = (1 << bits) - 1;
    this.maxReinserts = maxReinserts;
    this.onEvict = onEvict;
    this.log = new Ring(Math.min(universe, 1 << 16));
    this.freq = new Uint8Array(universe);
    this.size = new Uint32Array(universe);
    this.present = new Uint8Array(universe);
    this.used = 0;
    this.count = 0;
    this.evictions = 0;
    this.reinserts = 0;
    this.reinsertedBytes = 0;
    this.maxReinsertRun = 0; // most re-appends one eviction did: the worst-case work of an insert
  }

  has(key) {
    return this.present[key] === 1;
  }

  get(key) {
    if (!this.present[key]) return false;
    if (this.freq[key] < this.maxFreq) this.freq[key]++;
    return true;
  }

  set(key, size) {
    if (this.present[key]) throw new Error(`set(${key}): key present (replay sets only after a miss)`);
    if (size > this.capacity) return false;
    while (this.used + size > this.capacity) this.evict();
    this.present[key] = 1;
    this.freq[key] = 0;
    this.size[key] = size;
    this.used += size;
    this.count++;
    this.log.push(key);
    return true;
  }

  evict() {
    for (let moved = 0; ; moved++) {
      const k = this.log.pop();
      if (this.freq[k] > 0 && moved < this.maxReinserts) {
        this.freq[k]--;
        this.log.push(k);
        this.reinserts++;
        this.reinsertedBytes += this.size[k];
        continue;
      }
      if (moved > this.maxReinsertRun) this.maxReinsertRun = moved;
      this.present[k] = 0;
      this.used -= this.size[k];
      this.count--;
      this.evictions++;
      this.onEvict?.(k);
      return;
    }
  }

  /** Keys from the tail (next examined) to the head (tests). */
  order() {
    return this.log.toArray();
  }
}
