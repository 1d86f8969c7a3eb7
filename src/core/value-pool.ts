/**
 * ValuePool: where values returned to the caller are copied. A copy is required (a later call may
 * overwrite the I/O area or evict the entry), and a fresh ArrayBuffer per small value costs more
 * than the whole lookup, so small values become views of a shared 64 KiB pool, as Node's Buffer
 * pool does. A retained view keeps its pool alive; a full pool is replaced, never rewritten.
 *
 * A caller may transfer a returned value's buffer (postMessage, structuredClone with `transfer`):
 * that detaches the pool, and with it the other values copied into it. A detached pool is
 * replaced before the next copy, never reused. To transfer one value alone, transfer a copy
 * (`v.slice()`) or read it with `getInto` into a buffer of your own.
 */

const POOL_BYTES = 64 * 1024;
/** Larger values get a buffer of their own. */
const POOLED_MAX = 4096;
const POOL_ALIGN = 8;

/** Values up to this size are copied word by word: cheaper than the subarray `set` needs. */
const WORD_COPY_MAX = 192;

export class ValuePool {
  private buffer = new ArrayBuffer(POOL_BYTES);
  private u8 = new Uint8Array(this.buffer);
  private u32 = new Uint32Array(this.buffer);
  private offset = 0;

  /**
   * A copy of `src[at, at + len)` that no later cache operation can change. `src32` is a
   * Uint32Array over the same memory as `src`.
   */
  copy(src: Uint8Array, src32: Uint32Array, at: number, len: number): Uint8Array {
    if (len > POOLED_MAX) return src.slice(at, at + len);
    let off = this.offset;
    // byteLength is 0 once a caller transferred (detached) the pool.
    if (off + len > POOL_BYTES || this.buffer.byteLength === 0) {
      this.buffer = new ArrayBuffer(POOL_BYTES);
      this.u8 = new Uint8Array(this.buffer);
      this.u32 = new Uint32Array(this.buffer);
      off = 0;
    }
    if (len <= WORD_COPY_MAX && (at & 3) === 0) {
      // off is POOL_ALIGN-aligned; whole words, then the last 0-3 bytes.
      const words = len >>> 2;
      const s = at >>> 2;
      const d = off >>> 2;
      const dst32 = this.u32;
      for (let i = 0; i < words; i++) dst32[d + i] = src32[s + i];
      const dst8 = this.u8;
      for (let i = words << 2; i < len; i++) dst8[off + i] = src[at + i];
    } else {
      this.u8.set(src.subarray(at, at + len), off);
    }
    this.offset = (off + len + POOL_ALIGN - 1) & ~(POOL_ALIGN - 1);
    return new Uint8Array(this.buffer, off, len);
  }
}
