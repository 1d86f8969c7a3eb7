/**
 * Batches: getMany and setMany lay many keys (and values) out in the I/O area at once and cross
 * into wasm once per batch (docs/ABI.md, "Batches"). The whole input is checked, and copied to a
 * list of its own, before anything is written; every byte is then written through the IoArea.
 *
 * get_many, in the I/O area:
 *
 *   start                keysAt                    table (4-aligned)
 *   │ u32 klen × maxN     │ keys, back to back      │ i32 result × n │ values found, back to back ... │ end
 *
 * set_many: records back to back, each [u32 klen][u32 vlen][f64 ttl][i32 status][u32 0][key][value],
 * 8-aligned.
 */
import {
  BATCH_RECORD_HEADER, BATCH_WORD, BatchRecordField, STATUS_NAMES, Status, alignUp, batchRecordSize,
} from './abi.js';
import type { Arena } from './arena.js';
import type { ArenaClock } from './clock.js';
import type { EvictLog } from './evict-log.js';
import type { IoArea } from './io-area.js';
import type { ValuePool } from './value-pool.js';
import type { Key, SetOptions, Value } from './types.js';
import { bytesOf, checkEntry, checkKey, checkValueType, describe, setOptionsTtl, type EntryLimits } from './validate.js';

/** Keys per get_many call at most: the crossing is amortised long before this. */
const BATCH_KEYS = 256;

/** The limits a batch is checked against (the arena's header values). */
export interface BatchLimits extends EntryLimits {
  readonly maxKeyBytes: number;
}

export class Batches {
  /** Keys per get_many call: any one key of up to maxKeyBytes always fits with the two tables. */
  private readonly batchKeys: number;

  constructor(
    private readonly arena: Arena,
    private readonly io: IoArea,
    private readonly pool: ValuePool,
    private readonly log: EvictLog | undefined,
    private readonly clock: ArenaClock,
    private readonly limits: BatchLimits,
  ) {
    const fit = Math.floor((io.size - limits.maxKeyBytes - (BATCH_WORD - 1)) / (2 * BATCH_WORD));
    if (fit < 1) throw new RangeError(`arenacache: the I/O area (${io.size} bytes) cannot hold a batch of one key`);
    this.batchKeys = Math.min(BATCH_KEYS, fit);
  }

  /** result[i] is the value of keys[i] (a copy) or undefined. Promotes and counts like get. */
  getMany(keys: unknown): (Uint8Array | undefined)[] {
    if (!Array.isArray(keys)) throw new TypeError(`getMany: keys must be an array, got ${describe(keys)}`);
    const list = (keys as Key[]).slice(); // read each element once: what is checked is what is written
    const { maxKeyBytes } = this.limits;
    const shared = this.arena.shared;
    for (let i = 0; i < list.length; i++) {
      const key = list[i];
      checkKey('getMany: key', i, key, maxKeyBytes);
      if (shared && typeof key !== 'string' && this.io.aliases(key)) list[i] = key.slice();
    }
    const out: (Uint8Array | undefined)[] = new Array(list.length);
    let i = 0;
    while (i < list.length) i = this.getBatch(list, i, out);
    this.log?.deliver(); // every result is copied out: the I/O area is free for the callbacks
    return out;
  }

  /**
   * Sets many entries, in order. Checks every entry first: on bad input it throws and changes
   * nothing. Returns whether some entry was given an expiry.
   */
  setMany(entries: unknown): boolean {
    if (typeof entries !== 'object' || entries === null || typeof (entries as Iterable<unknown>)[Symbol.iterator] !== 'function') {
      throw new TypeError(`setMany: entries must be an iterable of [key, value, options?], got ${describe(entries)}`);
    }
    const list = Array.from(entries as Iterable<unknown>);
    const n = list.length;
    const keys: Key[] = new Array(n);
    const values: Value[] = new Array(n);
    const klens = new Uint32Array(n);
    const vlens = new Uint32Array(n);
    const ttls = new Float64Array(n);
    const { maxKeyBytes } = this.limits;
    const shared = this.arena.shared;
    let anyTtl = false;
    for (let i = 0; i < n; i++) {
      const entry = list[i];
      if (!Array.isArray(entry)) throw new TypeError(`setMany: entry ${i} must be a [key, value, options?] array, got ${describe(entry)}`);
      let key = entry[0] as unknown;
      let value = entry[1] as unknown;
      const options = entry[2] as SetOptions | undefined;
      checkKey('setMany: key', i, key, maxKeyBytes);
      checkValueType('setMany: value', i, value);
      const klen = bytesOf(key as Key);
      const vlen = bytesOf(value as Value);
      checkEntry('setMany: entry', i, klen, vlen, this.limits);
      if (batchRecordSize(klen, vlen) > this.io.size) {
        throw new RangeError(`setMany: entry ${i} needs ${batchRecordSize(klen, vlen)} bytes of I/O area; it holds ${this.io.size}`);
      }
      ttls[i] = setOptionsTtl('setMany: entry', i, options);
      if (ttls[i] > 0) anyTtl = true;
      // A view of the arena's own memory could be overwritten while the batch is laid out.
      if (shared && typeof key !== 'string' && this.io.aliases(key as Uint8Array)) key = (key as Uint8Array).slice();
      if (shared && typeof value !== 'string' && this.io.aliases(value as Uint8Array)) value = (value as Uint8Array).slice();
      keys[i] = key as Key;
      values[i] = value as Value;
      klens[i] = klen;
      vlens[i] = vlen;
    }
    let i = 0;
    while (i < n) i = this.setBatch(keys, values, klens, vlens, ttls, i, anyTtl);
    this.log?.deliver();
    return anyTtl;
  }

  /** One get_many batch from keys[from]; returns the index of the first key it did not settle. */
  private getBatch(keys: readonly Key[], from: number, out: (Uint8Array | undefined)[]): number {
    const io = this.io;
    const start = io.start;
    const maxN = Math.min(keys.length - from, this.batchKeys);
    const keysOff = BATCH_WORD * maxN;
    // The keys end early enough for the result table; after the first key, they also leave half
    // of the area for values.
    const keysEnd = io.end - BATCH_WORD * maxN - (BATCH_WORD - 1);
    const softEnd = Math.min(keysEnd, start + (io.size >>> 1));
    const maxKeyBytes = this.limits.maxKeyBytes;
    let kp = start + keysOff;
    let n = 0;
    while (n < maxN) {
      const klen = io.data(kp, keys[from + n], Math.min(maxKeyBytes, (n === 0 ? keysEnd : softEnd) - kp));
      if (klen < 0) break;
      io.setU32(start + BATCH_WORD * n, klen);
      kp += klen;
      n++;
    }
    if (n === 0) throw new Error('arenacache: a key does not fit the I/O area'); // excluded by batchKeys
    const outOff = alignUp(kp - start, BATCH_WORD);
    const table = start + outOff;
    const ex = this.arena.ex;
    const slot = this.arena.slot;
    const log = this.log;
    let s = 0;
    while (s < n) {
      const r = ex.get_many(slot, n, s, keysOff, outOff, this.clock.now());
      if (!(r >= s && r <= n)) throw new Error(`arenacache: get_many returned ${STATUS_NAMES[r] ?? r}`);
      let vp = table + BATCH_WORD * n;
      io.check(table, BATCH_WORD * n);
      const results = io.i32;
      for (let j = s; j < r; j++) {
        const len = results[(table >>> 2) + j];
        if (len >= 0) {
          io.check(vp, len);
          out[from + j] = this.pool.copy(io.u8, io.u32, vp, len);
          vp += len;
        } else if (len === Status.NOT_FOUND) {
          out[from + j] = undefined;
        } else {
          throw new Error(`arenacache: get_many refused key ${from + j} (${STATUS_NAMES[len] ?? len})`);
        }
      }
      if (log !== undefined && log.filled) log.drain();
      if (r === s) {
        // This value does not fit the area next to the batch: fetch it alone, then start anew.
        out[from + r] = this.getAlone(keys[from + r]);
        return from + r + 1;
      }
      s = r;
    }
    return from + n;
  }

  /** get of one checked key, without delivering its eviction records (the caller does). */
  private getAlone(key: Key): Uint8Array | undefined {
    const io = this.io;
    const klen = io.data(io.start, key, this.limits.maxKeyBytes);
    if (klen < 0) throw new Error('arenacache: a key does not fit the I/O area');
    const r = this.arena.ex.get(this.arena.slot, klen, this.clock.now());
    const log = this.log;
    if (log !== undefined && log.filled) log.drain();
    if (r === Status.NOT_FOUND) return undefined;
    if (r < 0) throw new Error(`arenacache: get failed (${STATUS_NAMES[r] ?? r})`);
    io.check(io.start, r);
    return this.pool.copy(io.u8, io.u32, io.start, r);
  }

  /** Lays out and applies the records from `from` that fit one I/O area; returns the next index. */
  private setBatch(
    keys: readonly Key[], values: readonly Value[], klens: Uint32Array, vlens: Uint32Array, ttls: Float64Array,
    from: number, anyTtl: boolean,
  ): number {
    const io = this.io;
    let p = io.start;
    let n = 0;
    while (from + n < keys.length) {
      const i = from + n;
      const klen = klens[i];
      const vlen = vlens[i];
      const size = batchRecordSize(klen, vlen);
      if (p + size > io.end) break;
      const kp = p + BATCH_RECORD_HEADER;
      if (io.data(kp, keys[i], klen) !== klen || io.data(kp + klen, values[i], vlen) !== vlen) {
        throw new Error(`arenacache: setMany entry ${i} changed size while it was written`);
      }
      io.setU32(p + BatchRecordField.KLEN, klen);
      io.setU32(p + BatchRecordField.VLEN, vlen);
      io.setF64(p + BatchRecordField.TTL, ttls[i]);
      io.setI32(p + BatchRecordField.STATUS, Status.OK);
      io.setU32(p + BatchRecordField.RESERVED, 0);
      p += size;
      n++;
    }
    if (n === 0) throw new Error('arenacache: a setMany record does not fit the I/O area'); // checked in setMany
    const ex = this.arena.ex;
    const slot = this.arena.slot;
    const log = this.log;
    const now = anyTtl ? this.clock.read() : this.clock.now();
    let s = 0;
    while (s < n) {
      const r = ex.set_many(slot, n, s, now);
      if (!(r >= s && r <= n)) throw new Error(`arenacache: set_many returned ${STATUS_NAMES[r] ?? r}`);
      // r < n: the eviction log filled while applying record r; drained, the log takes it next time.
      const drained = log !== undefined && log.filled;
      if (drained) log.drain();
      else if (r < n) throw new Error('arenacache: set_many made no progress with an empty eviction log');
      s = r;
    }
    // Every record was checked, so each must have been stored.
    p = io.start;
    for (let j = 0; j < n; j++) {
      const status = io.getI32(p + BatchRecordField.STATUS);
      if (status !== Status.OK) throw new Error(`arenacache: setMany entry ${from + j} was refused (${STATUS_NAMES[status] ?? status})`);
      p += batchRecordSize(klens[from + j], vlens[from + j]);
    }
    return from + n;
  }
}
