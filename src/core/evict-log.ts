/**
 * EvictLog: the host side of a thread slot's eviction log (docs/ABI.md, "Eviction log"). The core
 * appends [reason, key, value] records while it evicts or expires; after every core call the cache
 * `drain`s them into a queue of copies, and `deliver`s the queue to onEvict only once it no longer
 * needs anything the core left in the I/O area. So onEvict may call any method of the cache: its
 * calls find the I/O area free, and their own records join the end of the queue, delivered by the
 * same loop, in the order the core removed the entries.
 */
import { LOG_HEADER, RECORD_HEADER, Reason, logRecordSize } from './abi.js';
import { IoArea } from './io-area.js';
import type { EvictReason } from './types.js';

export type OnEvict = (key: Uint8Array, value: Uint8Array, reason: EvictReason) => void;

/** The core's record reasons, by their host names. */
const REASONS: Record<number, EvictReason> = {
  [Reason.EVICT]: 'evict', [Reason.EXPIRE]: 'expire', [Reason.DELETE]: 'delete', [Reason.REPLACE]: 'set',
};

export class EvictLog {
  private readonly u8: Uint8Array;
  /** The log's header words, the only part of the log the host writes. */
  private readonly head: IoArea;
  private readonly log: number;
  private readonly capacity: number;
  private readonly onEvict: OnEvict;
  // The queue, as parallel arrays (no object per record).
  private readonly keys: Uint8Array[] = [];
  private readonly values: Uint8Array[] = [];
  private readonly reasons: EvictReason[] = [];
  private delivering = false;

  constructor(memory: ArrayBufferLike, log: number, logBytes: number, onEvict: OnEvict, private readonly wanted: ReadonlySet<EvictReason>) {
    this.u8 = new Uint8Array(memory);
    this.head = new IoArea(memory, log, LOG_HEADER);
    this.log = log;
    this.capacity = logBytes - LOG_HEADER;
    this.onEvict = onEvict;
  }

  /** Whether the core left records in the log (one load: call it after every core call). */
  get filled(): boolean {
    return this.head.getU32(this.log) !== 0;
  }

  /** Copies every record out of the log into the queue and empties the log. */
  drain(): void {
    const head = this.head;
    const count = head.getU32(this.log);
    if (count === 0) return;
    const bytes = head.getU32(this.log + 4);
    // Checked before it is trusted: a corrupt header must not send the reader through memory.
    if (bytes > this.capacity || count > bytes / RECORD_HEADER) this.corrupt(count, bytes);
    const u8 = this.u8;
    const dv = new DataView(u8.buffer, this.log + LOG_HEADER, bytes);
    const end = this.log + LOG_HEADER + bytes;
    let p = 0;
    for (let k = 0; k < count; k++) {
      if (p + RECORD_HEADER > bytes) this.corrupt(count, bytes);
      const reason = dv.getUint32(p, true);
      const klen = dv.getUint32(p + 4, true);
      const vlen = dv.getUint32(p + 8, true);
      const key = this.log + LOG_HEADER + p + RECORD_HEADER;
      const why = REASONS[reason];
      if (why === undefined || key + klen + vlen > end) this.corrupt(count, bytes);
      if (this.wanted.has(why)) {
        this.keys.push(u8.slice(key, key + klen));
        this.values.push(u8.slice(key + klen, key + klen + vlen));
        this.reasons.push(why);
      }
      p += logRecordSize(klen, vlen);
    }
    head.setU32(this.log, 0);
    head.setU32(this.log + 4, 0);
  }

  /**
   * Calls onEvict for every queued record, in order. Called again from inside a callback (a cache
   * call made by onEvict) it returns at once: the outer loop delivers what that call queued. If
   * callbacks throw, every record is still delivered and the first error is rethrown.
   */
  deliver(): void {
    if (this.delivering || this.reasons.length === 0) return;
    this.delivering = true;
    const { keys, values, reasons, onEvict } = this;
    let failed = false;
    let error: unknown;
    try {
      for (let i = 0; i < reasons.length; i++) {
        try {
          onEvict(keys[i], values[i], reasons[i]);
        } catch (e) {
          if (!failed) error = e;
          failed = true;
        }
      }
    } finally {
      keys.length = 0;
      values.length = 0;
      reasons.length = 0;
      this.delivering = false;
    }
    if (failed) throw error;
  }

  /** Drains, then delivers: for a call that leaves nothing in the I/O area it still needs. */
  settle(): void {
    if (this.filled) this.drain();
    this.deliver();
  }

  private corrupt(count: number, bytes: number): never {
    throw new Error(`arenacache: the eviction log is corrupt (${count} records in ${bytes} bytes; capacity ${this.capacity})`);
  }
}
