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

export class ValuePool {
  private buffer = new ArrayBuffer(POOL_BYTES);
  private u8 = new Uint8Array(this.buffer);
  private offset = 0;

  /** A copy of `src[at, at + len)` that no later cache operation can change. */
  copy(src: Uint8Array, at: number, len: number): Uint8Array {
    if (len > POOLED_MAX) return src.slice(at, at + len);
    let off = this.offset;
    // byteLength is 0 once a caller transferred (detached) the pool.
    if (off + len > POOL_BYTES || this.buffer.byteLength === 0) {
      this.buffer = new ArrayBuffer(POOL_BYTES);
      this.u8 = new Uint8Array(this.buffer);
      off = 0;
    }
    this.u8.set(src.subarray(at, at + len), off);
    this.offset = (off + len + POOL_ALIGN - 1) & ~(POOL_ALIGN - 1);
    return new Uint8Array(this.buffer, off, len);
  }
}
