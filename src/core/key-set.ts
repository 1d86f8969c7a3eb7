/**
 * KeySet: a set of byte strings without a JS object per member, for the iteration's dedupe
 * (scanner.ts remembers every key it has yielded until the iteration ends).
 *
 *   bytes  │ klen u32 │ key … │ klen u32 │ key … │ …            members back to back, 4-aligned
 *   slots  │ offset + 1 (0 = empty) │ …                        open addressing, linear probing,
 *   hashes │ the member's hash      │ …                        at most half full
 *
 * Memory: the keys' bytes plus about 12-20 bytes per member. The hash is FNV-1a from a random
 * basis, finalised with murmur3's fmix32: keys cannot be chosen to collide without knowing it.
 */

const INITIAL_SLOTS = 64;
const INITIAL_BYTES = 1024;

export class KeySet {
  private slots = new Uint32Array(INITIAL_SLOTS);
  private hashes = new Uint32Array(INITIAL_SLOTS);
  private bytes = new Uint8Array(INITIAL_BYTES);
  private words = new Uint32Array(this.bytes.buffer);
  private used = 0;
  private count = 0;
  private readonly basis: number;

  constructor() {
    const seed = new Uint32Array(1);
    globalThis.crypto.getRandomValues(seed);
    this.basis = (0x811c9dc5 ^ seed[0]) >>> 0;
  }

  get size(): number {
    return this.count;
  }

  /** Adds `src[from, from + len)`; true if it was not a member yet. */
  add(src: Uint8Array, from: number, len: number): boolean {
    const h = this.hash(src, from, len);
    const mask = this.slots.length - 1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const s = this.slots[i];
      if (s === 0) {
        this.insert(i, h, src, from, len);
        return true;
      }
      if (this.hashes[i] === h && this.equals(s - 1, src, from, len)) return false;
    }
  }

  private hash(src: Uint8Array, from: number, len: number): number {
    let h = this.basis;
    for (let i = from, end = from + len; i < end; i++) h = Math.imul(h ^ src[i], 16777619);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    return (h ^ (h >>> 16)) >>> 0;
  }

  private equals(at: number, src: Uint8Array, from: number, len: number): boolean {
    if (this.words[at >>> 2] !== len) return false;
    const b = this.bytes;
    for (let i = 0, p = at + 4; i < len; i++, p++) if (b[p] !== src[from + i]) return false;
    return true;
  }

  private insert(slot: number, h: number, src: Uint8Array, from: number, len: number): void {
    const need = this.used + 4 + ((len + 3) & ~3);
    if (need > this.bytes.length) {
      const grown = new Uint8Array(Math.max(need, this.bytes.length * 2));
      grown.set(this.bytes.subarray(0, this.used));
      this.bytes = grown;
      this.words = new Uint32Array(grown.buffer);
    }
    const at = this.used;
    this.words[at >>> 2] = len;
    this.bytes.set(src.subarray(from, from + len), at + 4);
    this.used = need;
    this.slots[slot] = at + 1;
    this.hashes[slot] = h;
    if (++this.count * 2 > this.slots.length) this.grow();
  }

  private grow(): void {
    const { slots, hashes } = this;
    const n = slots.length * 2;
    this.slots = new Uint32Array(n);
    this.hashes = new Uint32Array(n);
    const mask = n - 1;
    for (let j = 0; j < slots.length; j++) {
      if (slots[j] === 0) continue;
      let i = hashes[j] & mask;
      while (this.slots[i] !== 0) i = (i + 1) & mask;
      this.slots[i] = slots[j];
      this.hashes[i] = hashes[j];
    }
  }
}
