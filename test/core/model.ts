// A reference model of ArenaCache (the host class) over the reference model of the core
// (policy-model/arena-model.ts): the host's checks that refuse entries before the core, its
// batching of setMany into I/O areas, its retries after a full eviction log, its sweep and purge
// loops, and its delivery of eviction records (in removal order, once the call is done with the
// I/O area; records of calls made by a callback join the same queue). Used by the differential
// property test of the host.
import * as abi from '../../src/core/abi.generated.js';
import { batchRecordSize, entryCost, logRecordSize, type PolicyName } from '../../src/core/abi.js';
import type { EvictReason, SegmentStats } from '../../src/core/types.js';
import { ArenaModel, type ArenaShape } from './policy-model/arena-model.js';
import { SCAN_ROUNDS } from '../../src/core/scanner.js';

export const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));

/** The core's counters the model predicts exactly. */
export type ModelCounters = Pick<SegmentStats, 'hits' | 'misses' | 'sets' | 'deletes' | 'evictions' | 'expirations' | 'rejected'>;

export interface Removal {
  key: Uint8Array;
  value: Uint8Array;
  reason: EvictReason;
}

const REASONS: Record<number, EvictReason> = {
  [abi.REASON_EVICT]: 'evict', [abi.REASON_EXPIRE]: 'expire', [abi.REASON_DELETE]: 'delete', [abi.REASON_REPLACE]: 'set',
};

export interface HostShape {
  policy: PolicyName;
  maxValue: number;
  entryLimit: number;
  ioBytes: number;
  /** Bytes of records one core call can log (LOG_BYTES - 8), or null when nothing is logged. */
  logCapacity: number | null;
  disposeReasons: ReadonlySet<EvictReason>;
}

export class ModelCache {
  readonly arena: ArenaModel;
  /** Every record delivered to onEvict, in order. */
  readonly delivered: Removal[] = [];
  /** Called for each record as it is delivered (the test's callback: may call the model again). */
  onRecord: ((r: Removal, index: number) => void) | undefined;
  private readonly queue: Removal[] = [];
  private delivering = false;
  /** Each thread's cache sweeps the segments round-robin from its own position. */
  private readonly sweepNext = new Map<number, number>();

  constructor(core: ArenaShape, readonly host: HostShape) {
    this.arena = new ArenaModel(core);
  }

  /** One core call: the log starts empty; its records are drained into the queue after it. */
  private call<T>(fn: () => T): { result: T; logged: boolean } {
    this.arena.logRoom = this.host.logCapacity;
    const result = fn();
    const records = this.arena.records.splice(0);
    for (const [reason, k, v] of records) {
      const why = REASONS[reason];
      if (this.host.disposeReasons.has(why)) this.queue.push({ key: unhex(k), value: unhex(v), reason: why });
    }
    return { result, logged: records.length > 0 };
  }

  /** Delivers queued records in order; a call from a callback leaves its records to the outer loop. */
  deliver(): void {
    if (this.delivering) return;
    this.delivering = true;
    try {
      for (let r = this.queue.shift(); r !== undefined; r = this.queue.shift()) {
        this.delivered.push(r);
        this.onRecord?.(r, this.delivered.length - 1);
      }
    } finally {
      this.delivering = false;
    }
  }

  /** Whether set would accept the entry (the host refuses it otherwise, changing and counting nothing). */
  accepts(key: Uint8Array, value: Uint8Array): boolean {
    return value.length <= this.host.maxValue && entryCost(this.host.policy, key.length, value.length) <= this.host.entryLimit;
  }

  private ttlOf(ttl: number | undefined): number {
    return ttl === undefined ? -1 : ttl;
  }

  /** Returns false (and changes nothing) when the host refuses the entry. */
  set(key: Uint8Array, value: Uint8Array, ttl: number | undefined, now: number): boolean {
    if (!this.accepts(key, value)) return false;
    // E_LOG_FULL: the host drains and repeats the same call.
    while (this.call(() => this.arena.set(key, value, this.ttlOf(ttl), now)).result === abi.E_LOG_FULL);
    this.deliver();
    return true;
  }

  /** All or nothing, like the host: false when some entry is refused. */
  setMany(entries: [Uint8Array, Uint8Array, number | undefined][], now: number): boolean {
    if (!entries.every(([k, v]) => this.accepts(k, v))) return false;
    // The host lays out as many records as fit one I/O area, then calls set_many on them, again
    // from the record that filled the log.
    let i = 0;
    while (i < entries.length) {
      let end = i;
      let bytes = 0;
      while (end < entries.length) {
        const size = batchRecordSize(entries[end][0].length, entries[end][1].length);
        if (bytes + size > this.host.ioBytes) break;
        bytes += size;
        end++;
      }
      let s = i;
      while (s < end) {
        s = this.call(() => {
          for (let j = s; j < end; j++) {
            const [k, v, ttl] = entries[j];
            if (this.arena.set(k, v, this.ttlOf(ttl), now) === abi.E_LOG_FULL) return j;
          }
          return end;
        }).result;
      }
      i = end;
    }
    this.deliver();
    return true;
  }

  get(key: Uint8Array, now: number): Uint8Array | undefined {
    const v = this.call(() => this.arena.get(key, now)).result ?? undefined;
    this.deliver();
    return v;
  }

  /** `keys` must have passed fitLog: then no get_many call of the host's batches finds its log full. */
  getMany(keys: Uint8Array[], now: number): (Uint8Array | undefined)[] {
    const out = keys.map((k) => this.call(() => this.arena.get(k, now)).result ?? undefined);
    this.deliver();
    return out;
  }

  /**
   * Which of `keys` to keep: some expired keys are left out so that the records the lookups log
   * fit one eviction log: the core leaves an expired entry in place when a get_many call finds
   * the log full, at a point that depends on how the host splits batches (not modelled).
   */
  fitLog(keys: Uint8Array[], now: number): boolean[] {
    const cap = this.host.logCapacity;
    if (cap === null) return keys.map(() => true);
    let used = 0;
    const logged = new Set<string>();
    const rel = this.arena.rel(now);
    return keys.map((key) => {
      const k = hex(key);
      const e = this.arena.segmentOf(key).entries.get(k);
      if (e === undefined || !this.arena.expired(e, rel) || logged.has(k)) return true;
      const size = logRecordSize(e.key.length, e.value.length);
      if (used + size > cap) return false;
      used += size;
      logged.add(k);
      return true;
    });
  }

  peek(key: Uint8Array, now: number): Uint8Array | undefined {
    const v = this.call(() => this.arena.peek(key, now)).result ?? undefined;
    this.deliver();
    return v;
  }

  has(key: Uint8Array, now: number): boolean {
    const v = this.call(() => this.arena.has(key, now)).result === 1;
    this.deliver();
    return v;
  }

  delete(key: Uint8Array, now: number): boolean {
    let r: number;
    do r = this.call(() => this.arena.remove(key, now)).result;
    while (r === abi.E_LOG_FULL);
    this.deliver();
    return r === 1;
  }

  /** The host's sweep(maxSteps): the next segment, going on after a full log until the steps are used. */
  sweep(maxSteps: number, now: number, thread = 0): number {
    const seg = this.sweepNext.get(thread) ?? 0;
    this.sweepNext.set(thread, (seg + 1) % this.arena.segs.length);
    let removed = 0;
    let left = maxSteps;
    for (;;) {
      const { result, logged } = this.call(() => this.arena.sweep(seg, left, now, false));
      removed += result[0];
      left -= result[1];
      if (!logged || result[2] === 1 || left <= 0) break;
    }
    this.deliver();
    return removed;
  }

  purgeStale(now: number): number {
    let total = 0;
    for (let seg = 0; seg < this.arena.segs.length; seg++) {
      let restart = true;
      for (;;) {
        const { result } = this.call(() => this.arena.sweep(seg, 0xffff_ffff, now, restart));
        restart = false;
        total += result[0];
        this.deliver();
        if (result[2] === 1) break;
      }
    }
    return total;
  }

  clear(): void {
    this.arena.clear();
  }

  get size(): number {
    return this.arena.count;
  }

  get bytes(): number {
    return this.arena.used;
  }

  get counters(): ModelCounters {
    const c: ModelCounters = { hits: 0, misses: 0, sets: 0, deletes: 0, evictions: 0, expirations: 0, rejected: 0 };
    for (let s = 0; s < this.arena.segs.length; s++) {
      const m = this.arena.stats(s);
      for (const k of Object.keys(c) as (keyof ModelCounters)[]) c[k] += m[k];
    }
    return c;
  }

  /**
   * What the cache's iteration yields, in order (scanner.ts): each segment's scan order, the
   * segments interleaved by quantile — in round r (0..SCAN_ROUNDS-1) each segment up to its
   * floor((r + 1) × entries / SCAN_ROUNDS)-th entry, entries counted when the walk begins (expired
   * ones included: the core counts them until they are removed). Reads only: nothing changes.
   */
  iteration(newestFirst: boolean, now: number): { key: string; value: string }[] {
    const orders = this.arena.segs.map((_, s) => this.arena.scanOrder(s, newestFirst, true, now));
    const counts = this.arena.segs.map((_, s) => this.arena.stats(s).entries);
    const out: { key: string; value: string }[] = [];
    const next = orders.map(() => 0);
    for (let round = 0; round < SCAN_ROUNDS; round++) {
      for (let s = 0; s < orders.length; s++) {
        const target = Math.min(orders[s].length, Math.floor(((round + 1) * counts[s]) / SCAN_ROUNDS));
        for (; next[s] < target; next[s]++) {
          const [key, value] = orders[s][next[s]];
          out.push({ key, value });
        }
      }
    }
    return out;
  }

  /** The live entries (key, value, expiry on the host's clock; 0 = never). */
  *allEntries(): Generator<{ key: Uint8Array; value: Uint8Array; expires: number }> {
    for (const seg of this.arena.segs) {
      for (const e of seg.entries.values()) yield { key: e.key, value: e.value, expires: e.exp === 0 ? 0 : this.arena.shape.epoch + e.exp };
    }
  }
}
