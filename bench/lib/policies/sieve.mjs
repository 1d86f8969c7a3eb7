// SIEVE (Zhang et al., NSDI'24), byte-budgeted: a FIFO list plus a hand. A hit sets a visited bit.
// The hand walks from the tail toward the head, clearing visited bits, and evicts the first
// unvisited entry; survivors stay where they are (they are not moved to the head), which is what
// makes SIEVE need a list it can unlink from the middle — not a log. Matches libCacheSim's Sieve.c.
//
// Same conventions as lru.mjs.

export class Sieve {
  constructor({ capacity, universe, onEvict = null }) {
    this.capacity = capacity;
    this.onEvict = onEvict;
    this.prev = new Int32Array(universe); // toward the head (newer)
    this.next = new Int32Array(universe); // toward the tail (older)
    this.size = new Uint32Array(universe);
    this.present = new Uint8Array(universe);
    this.visited = new Uint8Array(universe);
    this.head = -1; // newest
    this.tail = -1; // oldest
    this.hand = -1; // -1: start at the tail
    this.used = 0;
    this.count = 0;
    this.evictions = 0;
    this.reinserts = 0;
    this.reinsertedBytes = 0;
  }

  has(key) {
    return this.present[key] === 1;
  }

  get(key) {
    if (!this.present[key]) return false;
    this.visited[key] = 1;
    return true;
  }

  set(key, size) {
    if (this.present[key]) throw new Error(`set(${key}): key present (replay sets only after a miss)`);
    if (size > this.capacity) return false;
    while (this.used + size > this.capacity) this.evict();
    this.present[key] = 1;
    this.visited[key] = 0;
    this.size[key] = size;
    this.used += size;
    this.count++;
    this.prev[key] = -1;
    this.next[key] = this.head;
    if (this.head !== -1) this.prev[this.head] = key; else this.tail = key;
    this.head = key;
    return true;
  }

  evict() {
    let k = this.hand === -1 ? this.tail : this.hand;
    while (this.visited[k]) {
      this.visited[k] = 0;
      k = this.prev[k] === -1 ? this.tail : this.prev[k];
    }
    this.hand = this.prev[k];
    const p = this.prev[k], n = this.next[k];
    if (p !== -1) this.next[p] = n; else this.head = n;
    if (n !== -1) this.prev[n] = p; else this.tail = p;
    this.present[k] = 0;
    this.used -= this.size[k];
    this.count--;
    this.evictions++;
    this.onEvict?.(k);
  }

  /** Keys from the tail (oldest) to the head (tests). */
  order() {
    const out = [];
    for (let k = this.tail; k !== -1; k = this.prev[k]) out.push(k);
    return out;
  }
}
