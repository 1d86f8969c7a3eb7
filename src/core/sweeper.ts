/**
 * Sweeper: removing expired entries that nobody reads. `sweep` examines a bounded number of entries
 * of one segment (round-robin), `purge` every entry of every segment, and a timer sweeps one
 * segment per tick once some entry has had an expiry. The core's sweep stops early when the
 * eviction log fills; the full passes here then drain the log and go on, so no expired entry is
 * left behind.
 */
import { SegmentField, STATUS_NAMES, U32_MAX } from './abi.js';
import type { Arena } from './arena.js';
import type { ArenaClock } from './clock.js';
import type { EvictLog } from './evict-log.js';
import type { IoArea } from './io-area.js';

/** Entries a timer tick examines. */
export const SWEEP_STEPS = 4096;
/** maxSteps of a full pass: the core examines at most the segment's entries. */
const FULL_PASS = U32_MAX;

export class Sweeper {
  private next = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly tick = () => {
    if (this.clock.ttlsUsed) this.sweep(SWEEP_STEPS);
  };

  constructor(
    private readonly arena: Arena,
    private readonly io: IoArea,
    private readonly log: EvictLog | undefined,
    private readonly clock: ArenaClock,
    private readonly segments: number,
    private readonly intervalMs: number,
  ) {}

  /**
   * Sweeps the next segment: examines at most `maxSteps` entries from its sweep cursor and removes
   * the expired ones. With `maxSteps` >= the segment's entries it removes every expired entry of
   * it, even when they overflow the eviction log. Returns how many expired.
   */
  sweep(maxSteps: number): number {
    const seg = this.next;
    this.next = (seg + 1) % this.segments;
    const now = this.clock.read();
    let removed = this.core(seg, maxSteps, now);
    const log = this.log;
    if (log === undefined || !log.filled) return removed;
    // Records were logged: the log may have filled before maxSteps entries were examined.
    log.drain();
    const whole = maxSteps >= this.entries(seg) + removed; // the entries the call began with
    log.deliver();
    if (!whole) return removed;
    for (;;) {
      removed += this.core(seg, FULL_PASS, now);
      if (!log.filled) return removed;
      log.drain();
      log.deliver();
    }
  }

  /** Removes every expired entry now. Returns how many expired. */
  purge(): number {
    const now = this.clock.read();
    const log = this.log;
    let total = 0;
    let failed = false;
    let error: unknown;
    for (let seg = 0; seg < this.segments; seg++) {
      total += this.core(seg, FULL_PASS, now);
      // A pass that logged records may have stopped at a full log: go on from there.
      while (log !== undefined && log.filled) {
        log.drain();
        try {
          log.deliver();
        } catch (e) {
          // An onEvict error: finish the purge, then report the first one.
          if (!failed) error = e;
          failed = true;
        }
        total += this.core(seg, FULL_PASS, now);
      }
    }
    if (failed) throw error;
    return total;
  }

  /** Starts the timer (idempotent): one segment per tick, every segment once per interval. */
  start(): void {
    if (this.intervalMs === 0 || this.timer !== undefined) return;
    const period = Math.max(1, Math.floor(this.intervalMs / this.segments));
    const timer = setInterval(this.tick, period);
    (timer as { unref?: () => void }).unref?.();
    this.timer = timer;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private core(seg: number, maxSteps: number, now: number): number {
    const r = this.arena.ex.sweep(this.arena.slot, seg, maxSteps, now);
    if (r < 0) throw new Error(`arenacache: sweep failed (${STATUS_NAMES[r] ?? r})`);
    return r;
  }

  /** Live entries of `seg` (a snapshot through the I/O area). */
  private entries(seg: number): number {
    this.arena.ex.stats(this.arena.slot, seg);
    return this.io.getU32(this.io.start + SegmentField.COUNT);
  }
}
