// S3-FIFO's ghost: the keys recently evicted from the small queue, without their values. A miss
// whose key is in the ghost was evicted too early, so it is admitted straight to the main queue.
// Two forms, same interface (`add(key, size)`, `take(key)` = test-and-remove):
import { Ring } from './ring.mjs';
import { hash32 } from './hash.mjs';

/**
 * Exact ghost: a FIFO of keys charged their entry sizes against a byte budget (libCacheSim's
 * FIFO-ghost, sized to M's bytes; for equal-size entries that is M's entry count). A key taken out
 * leaves a stale ring slot behind; a per-key stamp tells live slots from stale ones.
 */
export class ExactGhost {
  constructor({ capacity, universe }) {
    this.capacity = capacity;
    this.ring = new Ring(1 << 10);
    this.stamps = new Ring(1 << 10);
    this.stamp = new Int32Array(universe).fill(-1); // live slot's stamp, -1 = absent
    this.size = new Uint32Array(universe);
    this.seq = 0;
    this.used = 0;
  }

  add(key, size) {
    if (this.stamp[key] !== -1) this.used -= this.size[key]; // re-added: the old slot goes stale
    const s = this.seq++ & 0x7fffffff;
    this.stamp[key] = s;
    this.size[key] = size;
    this.used += size;
    this.ring.push(key);
    this.stamps.push(s);
    while (this.used > this.capacity) {
      const k = this.ring.pop(), st = this.stamps.pop();
      if (this.stamp[k] === st) {
        this.stamp[k] = -1;
        this.used -= this.size[k];
      }
    }
  }

  take(key) {
    if (this.stamp[key] === -1) return false;
    this.stamp[key] = -1;
    this.used -= this.size[key];
    return true;
  }
}

/**
 * Approximate ghost: a direct-mapped table of 32-bit fingerprints, one slot per expected M entry
 * (what the core could afford: 4 bytes a slot, no list, no per-key state). A newer key overwrites
 * its slot's older one (forgetting early), and a 32-bit fingerprint collision is a false "seen"
 * (~ slots / 2^32 per lookup: negligible).
 */
export class ApproxGhost {
  constructor({ slots, seed = 0x3c6ef372 }) {
    this.slots = Math.max(1, Math.floor(slots));
    this.table = new Uint32Array(this.slots);
    this.seedFp = seed;
    this.seedSlot = (seed ^ 0xa54ff53a) >>> 0;
  }

  add(key) {
    this.table[hash32(key, this.seedSlot) % this.slots] = hash32(key, this.seedFp) || 1; // 0 = empty
  }

  take(key) {
    const i = hash32(key, this.seedSlot) % this.slots;
    if (this.table[i] !== (hash32(key, this.seedFp) || 1)) return false;
    this.table[i] = 0;
    return true;
  }
}
