// Exact LRU, byte-budgeted: the reference every other policy is judged against. A hit moves the
// entry to the head of a doubly linked list (what costs the real core two extra cache misses per
// get); eviction takes the tail until the new entry fits.
//
// Shared semantics of every simulator in this folder (read-through replay: `get`, and on a miss
// `set`):
// - keys are dense integers in [0, universe), so state lives in typed arrays indexed by key;
// - `capacity` is a byte budget; an entry is charged its `size` (the caller folds header and key
//   in); an entry larger than what the policy can ever hold is refused (`set` returns false) and
//   changes nothing;
// - `set` requires the key to be absent (replay only sets after a miss);
// - `onEvict(key)` reports each victim in order; `evictions`, `reinserts` and `reinsertedBytes`
//   count the work (for log-structured policies a reinsert is a copy of the entry to the head).

export class Lru {
  constructor({ capacity, universe, onEvict = null }) {
    this.capacity = capacity;
    this.onEvict = onEvict;
    this.prev = new Int32Array(universe);
    this.next = new Int32Array(universe);
    this.size = new Uint32Array(universe);
    this.present = new Uint8Array(universe);
    this.head = -1; // most recent
    this.tail = -1; // least recent: the next victim
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
    if (key !== this.head) {
      this.unlink(key);
      this.pushHead(key);
    }
    return true;
  }

  set(key, size) {
    if (this.present[key]) throw new Error(`set(${key}): key present (replay sets only after a miss)`);
    if (size > this.capacity) return false;
    while (this.used + size > this.capacity) this.evict();
    this.present[key] = 1;
    this.size[key] = size;
    this.used += size;
    this.count++;
    this.pushHead(key);
    return true;
  }

  evict() {
    const k = this.tail;
    this.unlink(k);
    this.present[k] = 0;
    this.used -= this.size[k];
    this.count--;
    this.evictions++;
    this.onEvict?.(k);
  }

  /** Keys from the next victim to the most recent (tests). */
  order() {
    const out = [];
    for (let k = this.tail; k !== -1; k = this.prev[k]) out.push(k);
    return out;
  }

  unlink(k) {
    const p = this.prev[k], n = this.next[k];
    if (p !== -1) this.next[p] = n; else this.head = n;
    if (n !== -1) this.prev[n] = p; else this.tail = p;
  }

  pushHead(k) {
    this.prev[k] = -1;
    this.next[k] = this.head;
    if (this.head !== -1) this.prev[this.head] = k; else this.tail = k;
    this.head = k;
  }
}
