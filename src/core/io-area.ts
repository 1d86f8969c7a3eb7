/**
 * IoArea: the one way the host writes into the core's linear memory. An IoArea owns a range
 * [start, end) that the ABI gives this thread (its I/O area; also its eviction-log header and its
 * slot's tag word, docs/ABI.md section 4) and checks every write against it *before* writing, so
 * no host bug and no input can put a byte anywhere else: not in the index, not in another
 * thread's area. Reads of results are checked the same way.
 *
 *   start                                                        end
 *   │ key │ value │ ...  batch tables, records, results ...        │ (the next thread's area, the log, ...)
 */

const encoder = new TextEncoder();

/** Strings up to this many UTF-16 units take the char-by-char ASCII path (no TextEncoder call). */
const ASCII_LOOP_MAX = 64;

export class IoArea {
  /** First byte of the area (an offset in linear memory). */
  readonly start: number;
  /** One past the last byte. */
  readonly end: number;
  readonly size: number;
  /** The whole memory, for reading results (the arena never grows after init: the views stay valid). Write through the methods. */
  readonly u8: Uint8Array;
  /** The whole memory as u32 (reads: check the range first). */
  readonly u32: Uint32Array;
  /** The whole memory as i32, for reading a table after one `check` of its range. */
  readonly i32: Int32Array;
  private readonly dv: DataView;
  /** [start, end): the encodeInto target for text written at `start` (no view made per call). */
  private readonly whole: Uint8Array;

  constructor(memory: ArrayBufferLike, start: number, size: number) {
    if (!Number.isInteger(start) || !Number.isInteger(size) || start < 0 || size < 0 || start + size > memory.byteLength) {
      throw new RangeError(`arenacache: area [${start}, ${start + size}) is outside the memory (${memory.byteLength} bytes)`);
    }
    this.start = start;
    this.end = start + size;
    this.size = size;
    this.u8 = new Uint8Array(memory);
    this.u32 = new Uint32Array(memory);
    this.i32 = new Int32Array(memory);
    this.dv = new DataView(memory);
    this.whole = new Uint8Array(memory, start, size);
  }

  /** Throws unless [at, at + len) lies inside the area. */
  check(at: number, len: number): void {
    if (!(at >= this.start && len >= 0 && at + len <= this.end)) {
      throw new RangeError(`arenacache: [${at}, ${at + len}) is outside the area [${this.start}, ${this.end})`);
    }
  }

  /** Whether `x` is a view of this memory: writing the area could change it while it is copied. */
  aliases(x: Uint8Array): boolean {
    return x.buffer === this.u8.buffer;
  }

  /** Copies `src` to `at`. Returns false, writing nothing, when it would not fit before `end`. */
  bytes(at: number, src: Uint8Array): boolean {
    if (!(at >= this.start && at + src.length <= this.end)) return false;
    this.u8.set(src, at);
    return true;
  }

  /**
   * Writes `text` as UTF-8 at `at`: at most `limit` bytes, and never past `end`. Returns the byte
   * length, or -1 when it does not fit (bytes in [at, end) may have been overwritten: scratch).
   */
  text(at: number, text: string, limit: number): number {
    if (!(at >= this.start && at <= this.end)) return -1;
    const room = Math.min(limit, this.end - at);
    const n = text.length;
    if (n > room) return -1; // every UTF-16 unit takes at least one byte
    if (n <= ASCII_LOOP_MAX) {
      const u8 = this.u8;
      let i = 0;
      for (; i < n; i++) {
        const c = text.charCodeAt(i);
        if (c >= 0x80) break;
        u8[at + i] = c;
      }
      if (i === n) return n;
    }
    // The view ends at the area's end (or at `at + room`): encodeInto cannot write past it.
    const view = at === this.start ? this.whole : this.u8.subarray(at, at + room);
    const { read, written } = encoder.encodeInto(text, view);
    if (read < n || written > room) return -1;
    return written;
  }

  /** Writes a key or value (a string as UTF-8); -1 when it does not fit in `limit` bytes or the area. */
  data(at: number, x: string | Uint8Array, limit: number): number {
    if (typeof x === 'string') return this.text(at, x, limit);
    return x.length <= limit && this.bytes(at, x) ? x.length : -1;
  }

  setU32(at: number, v: number): void {
    this.word(at, 4);
    this.u32[at >>> 2] = v;
  }

  setI32(at: number, v: number): void {
    this.word(at, 4);
    this.i32[at >>> 2] = v;
  }

  setF64(at: number, v: number): void {
    this.word(at, 8);
    this.dv.setFloat64(at, v, true);
  }

  getU32(at: number): number {
    this.word(at, 4);
    return this.u32[at >>> 2];
  }

  getI32(at: number): number {
    this.word(at, 4);
    return this.i32[at >>> 2];
  }

  getF64(at: number): number {
    this.word(at, 8);
    return this.dv.getFloat64(at, true);
  }

  /** A u64 counter as a number (exact below 2^53). */
  getU64(at: number): number {
    this.word(at, 8);
    return this.u32[at >>> 2] + this.u32[(at >>> 2) + 1] * 0x1_0000_0000;
  }

  /** A 4-aligned word of `len` bytes inside the area. */
  private word(at: number, len: number): void {
    if (!(at >= this.start && at + len <= this.end && (at & 3) === 0)) {
      throw new RangeError(`arenacache: word [${at}, ${at + len}) is outside the area [${this.start}, ${this.end}) or unaligned`);
    }
  }
}
